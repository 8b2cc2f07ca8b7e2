"""Demonstrations from a rosbag: an image topic and the ``cmd_vel`` a driver sent.

Each frame is paired with the first command recorded after it (within
``max_delay_s``): the driver's answer to that frame. Segmentation targets come from
a labels topic of the bag when it has one (the bridge's ``~/labels``), else from a
teacher segmentation checkpoint (pseudo-labels). Frames without an answer are
skipped and counted.
"""

from __future__ import annotations

import bisect
import os

import cv2
import numpy as np
import torch
from tqdm import tqdm

from ..bags.bag_reader import BagReader
from ..bags.image_messages import IMAGE_TYPES, Stamp, message_to_label, message_to_rgb
from ..checkpoint import load_model
from .commands import twist_values_to_action
from .demos import Demonstrations
from .policy_runner import frames_to_batch
from .sim_labels import DRIVING_CLASSES

__all__ = ["demos_from_bag", "TWIST_TYPE"]

TWIST_TYPE = "geometry_msgs/msg/Twist"


@torch.inference_mode()
def _pseudo_labels(teacher: str | os.PathLike, frames: np.ndarray) -> np.ndarray:
    model, _ = load_model(teacher, expected_classes=DRIVING_CLASSES)
    labels = []
    for start in range(0, len(frames), 64):
        logits = model(frames_to_batch(frames[start : start + 64]))["out"]
        labels.append(logits.argmax(1).to(torch.uint8).numpy())
    return np.concatenate(labels)


def demos_from_bag(
    bag_path: str | os.PathLike,
    image_topic: str,
    cmd_topic: str = "/cmd_vel",
    labels_topic: str | None = None,
    teacher: str | os.PathLike | None = None,
    size: int = 96,
    max_delay_s: float = 0.5,
) -> tuple[Demonstrations, dict[str, int]]:
    """Read (frame, action, labels) triples from a bag.

    Args:
        bag_path: any rosbag ``BagReader`` opens.
        image_topic: ``sensor_msgs/Image`` or ``CompressedImage`` frames.
        cmd_topic: ``geometry_msgs/Twist`` commands.
        labels_topic: mono8 labels with the frames' stamps; None uses ``teacher``.
        teacher: zoo segmentation checkpoint over ``DRIVING_CLASSES`` (e.g. the
            ``segmentation.pt`` that ``train-policy`` writes).
        size: frames (and labels) are resized to ``size x size``.
        max_delay_s: a command later than this after the frame does not answer it.

    Returns:
        The demonstrations and counts (``frames``, ``paired``, ``unanswered``).
    """
    if labels_topic is None and teacher is None:
        raise ValueError("the bag needs a labels topic or a teacher checkpoint for labels")
    with BagReader(bag_path) as bag:
        image_type = bag.topic_type(image_topic, IMAGE_TYPES)
        bag.topic_type(cmd_topic, (TWIST_TYPE,))
        if labels_topic:
            bag.topic_type(labels_topic, IMAGE_TYPES)
        frames, frame_times, commands, command_times, labels = [], [], [], [], {}
        topics = [image_topic, cmd_topic] + ([labels_topic] if labels_topic else [])
        for message in tqdm(
            bag.messages(topics),
            desc="reading bag",
            total=sum(bag.count(t) for t in topics),
            dynamic_ncols=True,
        ):
            msg = bag.deserialize(message)
            if message.topic == cmd_topic:
                commands.append(twist_values_to_action(msg.linear.x, msg.angular.z))
                command_times.append(message.timestamp)
            elif message.topic == image_topic:
                rgb = message_to_rgb(msg, image_type)
                frames.append(cv2.resize(rgb, (size, size), interpolation=cv2.INTER_AREA))
                frame_times.append((message.timestamp, Stamp.of(msg)))
            else:
                label = message_to_label(msg, "sensor_msgs/msg/Image")
                labels[Stamp.of(msg)] = cv2.resize(
                    label, (size, size), interpolation=cv2.INTER_NEAREST
                )
    keep, actions = [], []
    for index, (received, _) in enumerate(frame_times):
        after = bisect.bisect_right(command_times, received)
        if after < len(command_times) and command_times[after] - received <= max_delay_s * 1e9:
            keep.append(index)
            actions.append(commands[after])
    if labels_topic:
        keep = [i for i in keep if frame_times[i][1] in labels]
    counts = {"frames": len(frames), "paired": len(keep), "unanswered": len(frames) - len(keep)}
    if not keep:
        raise ValueError(f"no frame of {image_topic} has a {cmd_topic} answer in {bag_path}")
    kept_frames = np.stack([frames[i] for i in keep])
    if labels_topic:
        kept_labels = np.stack([labels[frame_times[i][1]] for i in keep])
    else:
        kept_labels = _pseudo_labels(teacher, kept_frames)
    demos = Demonstrations(
        kept_frames,
        np.stack(actions).astype(np.float32),
        kept_labels,
        np.zeros(len(keep), dtype=np.int64),
    )
    return demos, counts
