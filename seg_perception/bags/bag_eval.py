"""Run the node's frame pipeline over an image topic of a bag (no ROS imports).

Each frame is decoded with the node's codecs and goes through the same
``FramePipeline`` the node runs (segmentation, overlay and the optional stages its
parameters ask for, with the same confidence stride, 4 by default). With a label
topic (mono8 class ids, matched to images by header stamp) the predictions are scored
with ``ConfusionMatrix``: ids outside the model's classes (CamVid's 11 = Unlabelled,
255) are ignored. The optional output bag holds every output the stages declare, as
the node publishes them, under ``<prefix>/``: ``labels`` (mono8), ``confidence``
(32FC1), ``overlay`` (rgb8); with the motion stage ``motion`` and ``flow`` (none for a
frame that restarts the flow stream); with the instance stage ``instances/ids``,
``instances/overlay`` and ``instances/detections`` (``std_msgs/String`` JSON); each
with its input's header and bag timestamp.

A frame that fails to decode (bad bytes, wrong size, undecodable JPEG) is skipped and
counted, a frame a stage fails on is counted as failed (with its reason); an unusable
bag (missing, corrupt, unknown topic, unsupported type or encoding, label and image
sizes differing) is an error and leaves no output.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np
from tqdm import tqdm

from ..evaluation.metrics import ConfusionMatrix
from ..image_codec import encode_raw
from ..inference.segmentation_pipeline import SegmentationPipeline
from ..latency_stats import LatencyStats
from ..stages.base import JSON, Output
from ..stages.frame_pipeline import FramePipeline
from .bag_reader import BagReader, read_labels
from .bag_writer import BagWriter
from .image_messages import FRAME_ERRORS, IMAGE_TYPE, IMAGE_TYPES, BagError, Stamp, message_to_rgb

__all__ = ["evaluate_bag", "output_topics", "DEFAULT_PREFIX"]

STRING_TYPE = "std_msgs/msg/String"
DEFAULT_PREFIX = "/segmentation_node"  # the live node's output namespace
MAX_REASONS = 5


INSTANCE_OUTPUTS = ("instances/ids", "instances/overlay", "instances/detections")


def output_topics(
    prefix: str = DEFAULT_PREFIX, motion: bool = False, instances: bool = False
) -> dict[str, str]:
    """``{"labels": "<prefix>/labels", ...}`` for an absolute or relative ``prefix``."""
    names = ["labels", "confidence", "overlay"] + (["motion", "flow"] if motion else [])
    names += list(INSTANCE_OUTPUTS) if instances else []
    return {name: _topic(prefix, name) for name in names}


def evaluate_bag(
    bag: BagReader,
    frames: FramePipeline | SegmentationPipeline,
    image_topic: str,
    label_topic: str | None = None,
    out: str | os.PathLike | None = None,
    *,
    prefix: str = DEFAULT_PREFIX,
    compress: bool = False,
    overwrite: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    """Run every frame of ``image_topic`` through the node's frame pipeline; score against
    ``label_topic``; write the outputs to ``out``.

    Args:
        bag: an open bag.
        frames: the node's frame pipeline (``build_frame_pipeline``: segmentation, overlay
            and the optional stages its parameters ask for), or a bare
            ``SegmentationPipeline`` (segmentation and overlay only).
        image_topic: ``sensor_msgs/Image`` or ``CompressedImage`` topic.
        label_topic: mono8 class-id ``Image`` topic stamped like the images.
        out: output bag (``*.mcap`` file or rosbag2 folder, MCAP storage); None = none.
        prefix: namespace of the output topics.
        compress: zstd chunk compression of ``out`` (about a third smaller on CamVid).
        overwrite: replace an existing ``out``.
        progress: show a tqdm bar.

    Returns:
        The report: frame counts, IoU (when labelled), latency percentiles, fps.
    """
    if isinstance(frames, SegmentationPipeline):
        frames = FramePipeline(frames)
    image_type = bag.topic_type(image_topic, IMAGE_TYPES)
    if label_topic is not None:
        if label_topic == image_topic:
            raise BagError("the label topic must differ from the image topic")
        bag.topic_type(label_topic, (IMAGE_TYPE,))
    total = bag.count(image_topic)
    if total == 0:
        raise BagError(f"topic {image_topic} of bag {bag.path} has no messages")
    labels, skipped_labels = read_labels(bag, label_topic) if label_topic else ({}, [])
    confusion = ConfusionMatrix(frames.classes.num_classes)
    frames.stats = LatencyStats(window=total)
    skipped: list[str] = []
    failed: list[str] = []
    counts = {"frames": 0, "labelled": 0, "motion": 0, "instances": 0}
    matched: set[Stamp] = set()
    outputs = frames.outputs()
    topics = {o.key: _topic(prefix, o.topic) for o in outputs}

    def score(stamp: Stamp, predicted: np.ndarray) -> None:
        label = labels.get(stamp)
        if label is None:
            return
        if label.shape != predicted.shape:
            raise BagError(
                f"label at stamp {stamp} on {label_topic} is {label.shape[1]}x{label.shape[0]} "
                f"but its image on {image_topic} is {predicted.shape[1]}x{predicted.shape[0]}"
            )
        confusion.update(label, predicted)
        matched.add(stamp)
        counts["labelled"] += 1

    def process_message(message, writer: BagWriter | None) -> None:
        try:
            msg = bag.deserialize(message)
        except FRAME_ERRORS as exc:
            skipped.append(str(exc))
            return
        stamp = Stamp.of(msg)
        outcome = frames.run(
            lambda: message_to_rgb(msg, message.msgtype),
            (stamp.sec, stamp.nanosec),
            msg.header.frame_id,
            rejects=FRAME_ERRORS,
            fatal=(BagError,),
        )
        if outcome.status != "processed":
            (skipped if outcome.status == "rejected" else failed).append(outcome.reason)
            return
        frame = outcome.frame
        score(stamp, frame.data["labels"])
        if writer is not None:
            for output, value in frames.frame_outputs(frame):
                writer.write(
                    topics[output.key],
                    message.timestamp,
                    _bag_message(writer, output, value, stamp, frame.frame_id),
                )
        counts["frames"] += 1
        counts["motion"] += "motion" in frame.data
        counts["instances"] += frame.data.get("instance_count", 0)

    def process(writer: BagWriter | None) -> None:
        # closed before an error propagates: its last redraw never follows the error line
        with tqdm(total=total, desc="bag-eval", unit="frame", disable=not progress) as bar:
            for message in bag.messages([image_topic]):
                bar.update()
                process_message(message, writer)
        if counts["frames"] == 0:
            problems = skipped + failed
            raise BagError(
                f"no frame of {image_topic} could be processed ({len(skipped)} skipped, "
                f"{len(failed)} failed; first: {problems[0] if problems else 'none'})"
            )

    started = time.perf_counter()
    if out is None:
        process(None)
    else:
        with BagWriter(out, "mcap", compress=compress, overwrite=overwrite) as writer:
            for output in outputs:
                writer.add_topic(
                    topics[output.key], STRING_TYPE if output.encoding == JSON else IMAGE_TYPE
                )
            process(writer)
    elapsed = time.perf_counter() - started

    labelled = counts["labelled"]
    iou = confusion.iou()
    segmentation = frames.segmentation
    report: dict[str, Any] = {
        "bag": str(bag.path),
        "image_topic": image_topic,
        "image_type": image_type,
        "label_topic": label_topic,
        "frames": counts["frames"],
        "skipped_frames": len(skipped),
        "skipped_reasons": list(dict.fromkeys(skipped))[:MAX_REASONS],
        "failed_frames": len(failed),
        "failed_reasons": list(dict.fromkeys(failed))[:MAX_REASONS],
        "labelled_frames": labelled,
        "unlabelled_frames": counts["frames"] - labelled if label_topic else None,
        "unmatched_labels": len(set(labels) - matched) if label_topic else None,
        "skipped_labels": len(skipped_labels) if label_topic else None,
        "mean_iou": confusion.mean_iou() if labelled else None,
        "pixel_accuracy": confusion.pixel_accuracy() if labelled else None,
        "per_class_iou": (
            {
                name: None if np.isnan(value) else float(value)
                for name, value in zip(frames.classes.names, iou, strict=True)
            }
            if labelled
            else None
        ),
        "confusion_matrix": confusion.matrix.tolist() if labelled else None,
        "latency_ms": frames.latency()[1],
        "fps": counts["frames"] / elapsed if elapsed > 0 else None,
        "duration_s": elapsed,
        "device": str(segmentation.device),
        "backend": segmentation.backend,
        "input_size": list(segmentation.input_size),
        "confidence_stride": segmentation.confidence_stride,
        "stages": [stage.name for stage in frames.stages],
        "output_bag": str(out) if out is not None else None,
        "output_topics": list(topics.values()) if out is not None else None,
    }
    motion = frames.stage("motion_total")
    if motion is not None:
        report["motion_frames"] = counts["motion"]
        report["flow_resets"] = dict(motion.pipeline.stream.resets)
    instances = frames.stage("instances_total")
    if instances is not None:
        report["instance_mode"] = instances.mode
        report["instances"] = counts["instances"]
    return report


def _topic(prefix: str, name: str) -> str:
    base = "/" + prefix.strip("/") if prefix.strip("/") else ""
    return f"{base}/{name}"


def _bag_message(writer: BagWriter, output: Output, value: Any, stamp: Stamp, frame_id: str):
    """The bag message of one output, with the input's stamp and frame."""
    if output.encoding == JSON:
        return writer.typestore.types[STRING_TYPE](data=value)
    return writer.image(stamp, frame_id, encode_raw(value, output.encoding))
