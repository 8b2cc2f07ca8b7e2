"""``segmentation_node``: camera images in; labels, overlay and confidence out.

Subscribes ``image`` (``sensor_msgs/Image``) or ``image/compressed``
(``sensor_msgs/CompressedImage``); publishes ``~/labels`` (mono8 class ids),
``~/overlay`` (rgb8) and ``~/confidence`` (32FC1), each with the input's header, and
``/diagnostics``. With ``instance_mode`` fast or maskrcnn it also publishes
``~/instances/ids`` (mono16, class_id * 1000 + n), ``~/instances/overlay`` (rgb8) and
``~/instances/detections`` (``std_msgs/String``, JSON). With ``use_flow`` it also
publishes ``~/motion`` (mono8, 255 on the moving object) and ``~/flow`` (rgb8 flow
picture) from a two-stream model; the first frame after a flow reset (start, stamp
going back, long gap, new size) has neither. Inference runs on a worker thread that
always takes the newest frame; frames replaced before they were processed are counted
as dropped.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass

import numpy as np
import torch
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rcl_interfaces.msg import (
    FloatingPointRange,
    IntegerRange,
    ParameterDescriptor,
    SetParametersResult,
)
from rclpy.exceptions import InvalidParameterTypeException, InvalidParameterValueException
from rclpy.node import Node
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import String

from ..checkpoint import DEFAULT_CHECKPOINT, MOTION_CHECKPOINTS, CheckpointError, load_model
from ..image_codec import ImageDecodeError, compressed_msg_to_rgb, image_msg_to_rgb
from ..instances.stage import InstanceStage
from ..latency_stats import LatencyStats
from ..models import build_model
from ..motion_pipeline import MotionPipeline, load_motion_model, motion_outputs
from ..node_params import PARAMETER_DOCS, ParameterError, SegmentationParams
from ..pipeline import SegmentationPipeline
from .diagnostics import diagnostic_array
from .node_main import run_node
from .qos import image_publisher_qos, image_subscription_qos
from .ros_image import array_to_image_msg

__all__ = ["SegmentationNode", "main"]

_RANGES = {
    "input_width": IntegerRange(from_value=32, to_value=4096, step=1),
    "input_height": IntegerRange(from_value=32, to_value=4096, step=1),
    "qos_depth": IntegerRange(from_value=1, to_value=100, step=1),
    "confidence_stride": IntegerRange(from_value=1, to_value=16, step=1),
    "num_threads": IntegerRange(from_value=0, to_value=256, step=1),
    "overlay_alpha": FloatingPointRange(from_value=0.0, to_value=1.0, step=0.0),
    "diagnostics_period": FloatingPointRange(from_value=0.05, to_value=60.0, step=0.0),
    "flow_max_gap": FloatingPointRange(from_value=0.001, to_value=60.0, step=0.0),
    "instance_min_area": IntegerRange(from_value=1, to_value=1_000_000, step=1),
    "instance_score_threshold": FloatingPointRange(from_value=0.0, to_value=1.0, step=0.0),
}
_RUNTIME_TUNABLE = {"overlay_alpha"}
_WARN_HOLD_S = 10.0  # diagnostics stay WARN this long after a rejected or failed frame


@dataclass
class _Counters:
    received: int = 0
    processed: int = 0
    dropped: int = 0
    rejected: int = 0
    failed: int = 0


def _declare_parameters(node: Node) -> SegmentationParams:
    """Declare every parameter with its descriptor and read them into the dataclass."""
    defaults = SegmentationParams()
    values = {}
    for name in SegmentationParams.names():
        descriptor = ParameterDescriptor(
            description=PARAMETER_DOCS[name], read_only=name not in _RUNTIME_TUNABLE
        )
        bound = _RANGES.get(name)
        if isinstance(bound, IntegerRange):
            descriptor.integer_range = [bound]
        elif isinstance(bound, FloatingPointRange):
            descriptor.floating_point_range = [bound]
        try:
            values[name] = node.declare_parameter(name, getattr(defaults, name), descriptor).value
        except (InvalidParameterValueException, InvalidParameterTypeException) as exc:
            raise ParameterError(f"parameter {name}: {exc}") from exc
    params = SegmentationParams(**values)
    params.validate()
    return params


class SegmentationNode(Node):
    """Semantic segmentation of a camera stream (see the module docstring)."""

    def __init__(self, **node_kwargs) -> None:
        super().__init__("segmentation_node", **node_kwargs)
        self.params = _declare_parameters(self)
        if self.params.num_threads:
            torch.set_num_threads(self.params.num_threads)
        classes = self.params.classes()
        self.pipeline = SegmentationPipeline(
            self._load_model(classes),
            classes,
            (self.params.input_width, self.params.input_height),
            self.params.device,
            self.params.confidence_stride,
        )
        self.motion = self._load_motion(classes) if self.params.use_flow else None
        self.instances = None
        if self.params.instance_mode != "off":
            self.instances = InstanceStage(
                self.params.instance_mode,
                classes,
                self.params.thing_classes,
                self.params.instance_min_area,
                self.params.instance_checkpoint,
                self.params.instance_score_threshold,
                self.params.device,
            )
        self.add_on_set_parameters_callback(self._on_set_parameters)

        output_qos = image_publisher_qos(max(5, self.params.qos_depth))
        self.labels_pub = self.create_publisher(Image, "~/labels", output_qos)
        self.overlay_pub = self.create_publisher(Image, "~/overlay", output_qos)
        self.confidence_pub = self.create_publisher(Image, "~/confidence", output_qos)
        if self.motion is not None:
            self.motion_pub = self.create_publisher(Image, "~/motion", output_qos)
            self.flow_pub = self.create_publisher(Image, "~/flow", output_qos)
        if self.instances is not None:
            self.instance_ids_pub = self.create_publisher(Image, "~/instances/ids", output_qos)
            self.instance_overlay_pub = self.create_publisher(
                Image, "~/instances/overlay", output_qos
            )
            self.detections_pub = self.create_publisher(
                String, "~/instances/detections", output_qos
            )
        self.diagnostics_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)

        input_qos = image_subscription_qos(self.params.qos_reliability, self.params.qos_depth)
        if self.params.input_transport == "compressed":
            self.image_sub = self.create_subscription(
                CompressedImage, "image/compressed", self._on_image, input_qos
            )
        else:
            self.image_sub = self.create_subscription(Image, "image", self._on_image, input_qos)

        self.counters = _Counters()
        self.stats = LatencyStats()
        self._last_problem = ""
        self._last_problem_at = -float("inf")
        self._pending: Image | CompressedImage | None = None
        self._wakeup = threading.Condition()
        self._running = True
        self._worker = threading.Thread(target=self._work, name="segmentation", daemon=True)
        self._worker.start()
        self.create_timer(self.params.diagnostics_period, self._publish_diagnostics)
        self.get_logger().info(
            f"segmenting '{self.image_sub.topic_name}' ({self.params.input_transport}) "
            f"with {self.params.model} at {self.params.input_width}x{self.params.input_height} "
            f"on {self.pipeline.device}"
        )

    def _load_model(self, classes):
        if self.params.checkpoint or self.params.model == "lraspp":
            path = self.params.checkpoint or str(DEFAULT_CHECKPOINT)
            model, payload = load_model(path, expected_classes=classes)
            if payload["model_name"] != self.params.model:
                raise CheckpointError(
                    f"checkpoint {path} holds a {payload['model_name']!r} model but parameter "
                    f"model is {self.params.model!r}"
                )
            self.get_logger().info(f"loaded checkpoint {path}")
            return model
        self.get_logger().warning(
            f"no checkpoint given for model {self.params.model!r}: running it UNTRAINED "
            "(random weights); set the 'checkpoint' parameter"
        )
        return build_model(self.params.model, classes.num_classes)

    def _load_motion(self, classes) -> MotionPipeline:
        path = self.params.motion_checkpoint or str(MOTION_CHECKPOINTS["two_stream"][0])
        model, payload = load_motion_model(path, expected_classes=classes)
        trained = payload["flow"]
        if trained != {"method": self.params.flow_method, "preset": self.params.flow_preset}:
            self.get_logger().warning(
                f"{path} was trained on {trained['method']}/{trained['preset']} flow, this node "
                f"computes {self.params.flow_method}/{self.params.flow_preset}"
            )
        self.get_logger().info(f"motion stream: {path}")
        return MotionPipeline.from_loaded(
            model,
            payload,
            flow_method=self.params.flow_method,
            flow_preset=self.params.flow_preset,
            max_gap_s=self.params.flow_max_gap,
            device=self.params.device,
        )

    def _publish_motion(self, rgb: np.ndarray, msg: Image | CompressedImage) -> dict[str, float]:
        """Flow and foreground for this frame; returns their timings (ms)."""
        stamp_s = msg.header.stamp.sec + 1e-9 * msg.header.stamp.nanosec
        result = self.motion(rgb, stamp_s)
        timings = {"flow": result.timings_ms["flow"]}
        if result.foreground is None:
            return timings  # the stream (re)started here: no previous frame
        timings["motion_inference"] = result.timings_ms["inference"]
        publishers = {"motion": self.motion_pub, "flow": self.flow_pub}
        for name, pixels, encoding in motion_outputs(result, rgb.shape[:2]):
            publishers[name].publish(array_to_image_msg(pixels, encoding, msg.header))
        return timings

    def _publish_instances(self, rgb: np.ndarray, result, msg: Image | CompressedImage) -> float:
        """Instance ids, picture and detections for this frame; returns the stage's ms."""
        found = self.instances(rgb, result.labels, result.confidence)
        header = msg.header
        self.instance_ids_pub.publish(array_to_image_msg(found.id_image, "mono16", header))
        self.instance_overlay_pub.publish(array_to_image_msg(found.overlay(rgb), "rgb8", header))
        document = self.instances.detections_json(
            found, (header.stamp.sec, header.stamp.nanosec), header.frame_id
        )
        self.detections_pub.publish(String(data=document))
        return found.timings_ms["instances"]

    def _on_set_parameters(self, changes) -> SetParametersResult:
        for change in changes:
            if change.name == "overlay_alpha" and not 0.0 <= change.value <= 1.0:
                return SetParametersResult(
                    successful=False, reason="overlay_alpha must be in [0, 1]"
                )
        for change in changes:
            if change.name == "overlay_alpha":
                self.params.overlay_alpha = float(change.value)
        return SetParametersResult(successful=True)

    def _on_image(self, msg: Image | CompressedImage) -> None:
        with self._wakeup:
            self.counters.received += 1
            if self._pending is not None:
                self.counters.dropped += 1
            self._pending = msg
            self._wakeup.notify()

    def _work(self) -> None:
        while True:
            with self._wakeup:
                self._wakeup.wait_for(lambda: self._pending is not None or not self._running)
                if not self._running:
                    return
                msg, self._pending = self._pending, None
            self.process_frame(msg)

    def _decode(self, msg: Image | CompressedImage):
        if isinstance(msg, CompressedImage):
            return compressed_msg_to_rgb(msg)
        return image_msg_to_rgb(msg)

    def process_frame(self, msg: Image | CompressedImage) -> None:
        """Decode, segment and publish one frame (the worker calls it; so does the bench)."""
        started = time.perf_counter()
        try:
            rgb = self._decode(msg)
        except ImageDecodeError as exc:
            self.counters.rejected += 1
            self._last_problem, self._last_problem_at = str(exc), time.monotonic()
            self.get_logger().warning(
                f"rejected frame (stamp {msg.header.stamp.sec}.{msg.header.stamp.nanosec:09d}): "
                f"{exc}",
                throttle_duration_sec=self.params.warn_throttle_sec,
            )
            return
        decoded = time.perf_counter()
        try:
            result = self.pipeline(rgb)
            overlay_start = time.perf_counter()
            overlay = self.pipeline.overlay(rgb, result.labels, self.params.overlay_alpha)
            publish_start = time.perf_counter()
            self.labels_pub.publish(array_to_image_msg(result.labels, "mono8", msg.header))
            self.confidence_pub.publish(array_to_image_msg(result.confidence, "32FC1", msg.header))
            self.overlay_pub.publish(array_to_image_msg(overlay, "rgb8", msg.header))
            motion_start = time.perf_counter()
            motion_timings = self._publish_motion(rgb, msg) if self.motion is not None else {}
            motion_ms = 1e3 * (time.perf_counter() - motion_start)
            instance_start = time.perf_counter()
            if self.instances is not None:
                instance_timings = {"instances": self._publish_instances(rgb, result, msg)}
            else:
                instance_timings = {}
            instance_ms = 1e3 * (time.perf_counter() - instance_start)
        except Exception as exc:  # keep serving: one bad frame must not stop the node
            self.counters.failed += 1
            self._last_problem, self._last_problem_at = repr(exc), time.monotonic()
            self.get_logger().error(
                f"processing failed: {exc!r}", throttle_duration_sec=self.params.warn_throttle_sec
            )
            return
        finished = time.perf_counter()
        timings = {"decode": 1e3 * (decoded - started), **result.timings_ms}
        timings["postprocess"] += 1e3 * (publish_start - overlay_start)  # overlay rendering
        timings["publish"] = 1e3 * (finished - publish_start) - motion_ms - instance_ms
        timings["total"] = 1e3 * (finished - started)
        timings["non_inference"] = timings["total"] - timings["inference"]
        if self.motion is not None:  # the motion stream's cost, apart from the segmentation's
            timings.update(motion_timings)
            timings["motion_total"] = motion_ms
            timings["non_inference"] -= motion_ms
        if self.instances is not None:  # the whole instance stage, publishing included
            timings.update(instance_timings)
            timings["instances_total"] = instance_ms
            timings["non_inference"] -= instance_ms
        with self._wakeup:
            self.counters.processed += 1
            self.stats.record(timings)

    def _publish_diagnostics(self) -> None:
        with self._wakeup:
            counters = {f"frames_{k}": v for k, v in vars(self.counters).items()}
            if self.motion is not None:
                for reason, count in self.motion.stream.resets.items():
                    counters[f"flow_resets ({reason})"] = count
            fps = self.stats.fps()
            latency = self.stats.summary()
        if time.monotonic() - self._last_problem_at < _WARN_HOLD_S:
            level = DiagnosticStatus.WARN
            message = f"rejected or failed frames in the last {_WARN_HOLD_S:.0f} s; last: "
            message += self._last_problem
        elif counters["frames_received"] == 0:
            level, message = DiagnosticStatus.OK, "waiting for images"
        else:
            level, message = DiagnosticStatus.OK, "segmenting"
        self.diagnostics_pub.publish(
            diagnostic_array(
                self.get_clock().now(),
                f"{self.get_name()}: segmentation",
                str(self.pipeline.device),
                level,
                message,
                counters,
                fps,
                latency,
                {"model": self.params.model, "input_topic": self.image_sub.topic_name},
            )
        )

    def destroy_node(self) -> None:
        # rclpy.try_shutdown also destroys a node whose __init__ failed before the worker existed
        if not hasattr(self, "_worker"):
            super().destroy_node()
            return
        with self._wakeup:
            self._running = False
            self._wakeup.notify_all()
        self._worker.join(timeout=5.0)
        super().destroy_node()


def main(args: list[str] | None = None) -> int:
    return run_node(
        "segmentation_node", SegmentationNode, (ParameterError, CheckpointError, ValueError), args
    )


if __name__ == "__main__":
    sys.exit(main())
