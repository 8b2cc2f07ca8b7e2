"""Run the node's segmentation pipeline over an image topic of a bag (no ROS imports).

Each frame is decoded with the node's codecs and segmented by the same
``SegmentationPipeline`` object type the node uses (so with the same confidence
stride, 4 by default). With a label topic (mono8 class ids, matched to images by
header stamp) the predictions are scored with ``ConfusionMatrix``: ids outside the
model's classes (CamVid's 11 = Unlabelled, 255) are ignored. The optional output
bag holds ``<prefix>/labels`` (mono8), ``<prefix>/overlay`` (rgb8) and
``<prefix>/confidence`` (32FC1), each with its input's header and bag timestamp; with a
motion pipeline also ``<prefix>/motion`` (mono8, 255 moving) and ``<prefix>/flow`` (rgb8),
as the node publishes them (none for a frame that restarts the flow stream); with an
instance stage also ``<prefix>/instances/ids`` (mono16), ``.../overlay`` (rgb8) and
``.../detections`` (``std_msgs/String`` JSON).

A frame that fails to decode (bad bytes, wrong size, undecodable JPEG) is skipped and
counted; an unusable bag (missing, corrupt, unknown topic, unsupported type or
encoding, label and image sizes differing) is an error and leaves no output.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm import tqdm

from ..evaluation.metrics import ConfusionMatrix
from ..image_codec import encode_raw
from ..instances.stage import InstanceResult, InstanceStage
from ..latency_stats import LatencyStats
from ..motion_pipeline import motion_outputs
from .bag_reader import BagReader, read_labels
from .bag_writer import BagWriter
from .image_messages import FRAME_ERRORS, IMAGE_TYPE, IMAGE_TYPES, BagError, Stamp, message_to_rgb

if TYPE_CHECKING:
    from ..motion_pipeline import MotionPipeline
    from ..pipeline import SegmentationPipeline

__all__ = ["evaluate_bag", "output_topics", "DEFAULT_PREFIX"]

STRING_TYPE = "std_msgs/msg/String"
DEFAULT_PREFIX = "/segmentation_node"  # the live node's output namespace
MAX_REASONS = 5


INSTANCE_OUTPUTS = ("instances/ids", "instances/overlay", "instances/detections")


def output_topics(
    prefix: str = DEFAULT_PREFIX, motion: bool = False, instances: bool = False
) -> dict[str, str]:
    """``{"labels": "<prefix>/labels", ...}`` for an absolute or relative ``prefix``."""
    base = "/" + prefix.strip("/") if prefix.strip("/") else ""
    names = ["labels", "overlay", "confidence"] + (["motion", "flow"] if motion else [])
    names += list(INSTANCE_OUTPUTS) if instances else []
    return {name: f"{base}/{name}" for name in names}


def evaluate_bag(
    bag: BagReader,
    pipeline: SegmentationPipeline,
    image_topic: str,
    label_topic: str | None = None,
    out: str | os.PathLike | None = None,
    *,
    prefix: str = DEFAULT_PREFIX,
    overlay_alpha: float = 0.5,
    compress: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    motion: MotionPipeline | None = None,
    instances: InstanceStage | None = None,
) -> dict[str, Any]:
    """Segment every frame of ``image_topic``; score against ``label_topic``; write ``out``.

    Args:
        bag: an open bag.
        pipeline: the segmentation pipeline (``SegmentationPipeline.from_checkpoint``).
        image_topic: ``sensor_msgs/Image`` or ``CompressedImage`` topic.
        label_topic: mono8 class-id ``Image`` topic stamped like the images.
        out: output bag (``*.mcap`` file or rosbag2 folder, MCAP storage); None = none.
        prefix: namespace of the output topics.
        overlay_alpha: colour weight of the overlay.
        compress: zstd chunk compression of ``out`` (about a third smaller on CamVid).
        overwrite: replace an existing ``out``.
        progress: show a tqdm bar.
        motion: also run this motion pipeline (``~/motion`` and ``~/flow`` outputs).
        instances: also run this instance stage (``~/instances/{ids,overlay,detections}``).

    Returns:
        The report: frame counts, IoU (when labelled), latency percentiles, fps.
    """
    image_type = bag.topic_type(image_topic, IMAGE_TYPES)
    if label_topic is not None:
        if label_topic == image_topic:
            raise BagError("the label topic must differ from the image topic")
        bag.topic_type(label_topic, (IMAGE_TYPE,))
    if not 0.0 <= overlay_alpha <= 1.0:
        raise ValueError(f"overlay alpha must be in [0, 1], got {overlay_alpha}")
    total = bag.count(image_topic)
    if total == 0:
        raise BagError(f"topic {image_topic} of bag {bag.path} has no messages")
    labels, skipped_labels = read_labels(bag, label_topic) if label_topic else ({}, [])
    num_classes = pipeline.classes.num_classes
    confusion = ConfusionMatrix(num_classes)
    latency = LatencyStats(window=total)
    skipped: list[str] = []
    frames = labelled = motion_frames = instance_count = 0
    matched: set[Stamp] = set()
    topics = output_topics(prefix, motion is not None, instances is not None)

    def process(writer: BagWriter | None) -> None:
        nonlocal frames, labelled, motion_frames, instance_count
        bar = tqdm(total=total, desc="bag-eval", unit="frame", disable=not progress)
        for message in bag.messages([image_topic]):
            bar.update()
            started = time.perf_counter()
            try:
                msg = bag.deserialize(message)
                rgb = message_to_rgb(msg, message.msgtype)
            except FRAME_ERRORS as exc:
                skipped.append(str(exc))
                continue
            decoded = time.perf_counter()
            result = pipeline(rgb)
            overlay_start = time.perf_counter()
            overlay = pipeline.overlay(rgb, result.labels, overlay_alpha)
            finished = time.perf_counter()
            stamp = Stamp.of(msg)
            moving = motion(rgb, stamp.ns * 1e-9) if motion is not None else None
            found = instances(rgb, result.labels, result.confidence) if instances else None
            all_done = time.perf_counter()
            label = labels.get(stamp)
            if label is not None:
                if label.shape != result.labels.shape:
                    raise BagError(
                        f"label at stamp {stamp} on {label_topic} is "
                        f"{label.shape[1]}x{label.shape[0]} but its image on {image_topic} "
                        f"is {rgb.shape[1]}x{rgb.shape[0]}"
                    )
                confusion.update(label, result.labels)
                matched.add(stamp)
                labelled += 1
            if writer is not None:
                frame_id = msg.header.frame_id
                for name, pixels, encoding in (
                    ("labels", result.labels, "mono8"),
                    ("overlay", overlay, "rgb8"),
                    ("confidence", result.confidence, "32FC1"),
                ):
                    output = writer.image(stamp, frame_id, encode_raw(pixels, encoding))
                    writer.write(topics[name], message.timestamp, output)
                if moving is not None and moving.foreground is not None:
                    for name, pixels, encoding in motion_outputs(moving, rgb.shape[:2]):
                        output = writer.image(stamp, frame_id, encode_raw(pixels, encoding))
                        writer.write(topics[name], message.timestamp, output)
                if found is not None:
                    _write_instances(
                        writer, topics, message.timestamp, stamp, frame_id, rgb, instances, found
                    )
            frames += 1
            timings = {"decode": 1e3 * (decoded - started), **result.timings_ms}
            timings["overlay"] = 1e3 * (finished - overlay_start)
            if moving is not None:
                motion_frames += moving.foreground is not None
                timings.update({f"motion_{k}": v for k, v in moving.timings_ms.items()})
            if found is not None:
                instance_count += len(found.instances)
                timings.update(found.timings_ms)
            timings["segmentation_total"] = 1e3 * (finished - started)
            timings["total"] = 1e3 * (all_done - started)
            latency.record(timings)
        bar.close()
        if frames == 0:
            raise BagError(
                f"no frame of {image_topic} could be decoded ({len(skipped)} skipped; "
                f"first: {skipped[0] if skipped else 'none'})"
            )

    started = time.perf_counter()
    if out is None:
        process(None)
    else:
        with BagWriter(out, "mcap", compress=compress, overwrite=overwrite) as writer:
            for name, topic in topics.items():
                writer.add_topic(topic, STRING_TYPE if name.endswith("detections") else IMAGE_TYPE)
            process(writer)
    elapsed = time.perf_counter() - started

    iou = confusion.iou()
    report: dict[str, Any] = {
        "bag": str(bag.path),
        "image_topic": image_topic,
        "image_type": image_type,
        "label_topic": label_topic,
        "frames": frames,
        "skipped_frames": len(skipped),
        "skipped_reasons": list(dict.fromkeys(skipped))[:MAX_REASONS],
        "labelled_frames": labelled,
        "unlabelled_frames": frames - labelled if label_topic else None,
        "unmatched_labels": len(set(labels) - matched) if label_topic else None,
        "skipped_labels": len(skipped_labels) if label_topic else None,
        "mean_iou": confusion.mean_iou() if labelled else None,
        "pixel_accuracy": confusion.pixel_accuracy() if labelled else None,
        "per_class_iou": (
            {
                name: None if np.isnan(value) else float(value)
                for name, value in zip(pipeline.classes.names, iou, strict=True)
            }
            if labelled
            else None
        ),
        "confusion_matrix": confusion.matrix.tolist() if labelled else None,
        "latency_ms": latency.summary(),
        "fps": frames / elapsed if elapsed > 0 else None,
        "duration_s": elapsed,
        "device": str(pipeline.device),
        "input_size": list(pipeline.input_size),
        "confidence_stride": pipeline.confidence_stride,
        "output_bag": str(out) if out is not None else None,
        "output_topics": list(topics.values()) if out is not None else None,
    }
    if motion is not None:
        report["motion_frames"] = motion_frames
        report["flow_resets"] = dict(motion.stream.resets)
    if instances is not None:
        report["instance_mode"] = instances.mode
        report["instances"] = instance_count
    return report


def _write_instances(
    writer: BagWriter,
    topics: dict[str, str],
    timestamp: int,
    stamp: Stamp,
    frame_id: str,
    rgb: np.ndarray,
    stage: InstanceStage,
    found: InstanceResult,
) -> None:
    """The node's three instance outputs for one frame."""
    ids = writer.image(stamp, frame_id, encode_raw(found.id_image, "mono16"))
    writer.write(topics["instances/ids"], timestamp, ids)
    overlay = writer.image(stamp, frame_id, encode_raw(found.overlay(rgb), "rgb8"))
    writer.write(topics["instances/overlay"], timestamp, overlay)
    document = stage.detections_json(found, (stamp.sec, stamp.nanosec), frame_id)
    writer.write(
        topics["instances/detections"],
        timestamp,
        writer.typestore.types[STRING_TYPE](data=document),
    )
