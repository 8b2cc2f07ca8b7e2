"""The segmentation node's ROS side, for a plain or a lifecycle (managed) node.

``configure`` builds the frame pipeline and one publisher per pipeline output;
``activate`` subscribes the camera and starts the worker; ``deactivate`` stops both;
``cleanup`` frees the pipeline. Everything a frame goes through is in
``frame_pipeline``; this module only maps outputs to publishers and reports.
"""

from __future__ import annotations

import time

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rcl_interfaces.msg import SetParametersResult
from rclpy.node import Node
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import String

from ..frame_pipeline import FramePipeline, build_frame_pipeline
from ..image_codec import compressed_msg_to_rgb, image_msg_to_rgb
from ..latest_worker import LatestOnlyWorker
from ..stages.base import JSON, Output
from .diagnostics import diagnostic_array
from .qos import image_publisher_qos, image_subscription_qos
from .ros_image import array_to_image_msg

__all__ = ["SegmentationRunner"]

_WARN_HOLD_S = 10.0  # diagnostics stay WARN this long after a rejected or failed frame


def _decode(msg: Image | CompressedImage):
    if isinstance(msg, CompressedImage):
        return compressed_msg_to_rgb(msg)
    return image_msg_to_rgb(msg)


class SegmentationRunner:
    """Publishers, subscription, worker and diagnostics of one segmentation node.

    Args:
        node: the host node (``rclpy.node.Node`` or ``rclpy.lifecycle.LifecycleNode``).
        params: its validated ``SegmentationParams``.
    """

    def __init__(self, node: Node, params) -> None:
        self.node = node
        self.params = params
        self.frames: FramePipeline | None = None
        self.trained = True
        self.active = False
        self._publishers: dict[str, object] = {}
        self._subscription = None
        self.worker: LatestOnlyWorker = LatestOnlyWorker(self._process, "segmentation")
        self._diagnostics_pub = None
        self._diagnostics_timer = None
        node.add_on_set_parameters_callback(self._on_set_parameters)

    # -- lifecycle ---------------------------------------------------------------------
    def configure(self) -> None:
        """Load the models and create the publishers (raises on a bad checkpoint)."""
        logger = self.node.get_logger()
        self.frames, self.trained = build_frame_pipeline(self.params, log=logger.info)
        if not self.trained:
            logger.warning("the segmentation model is UNTRAINED (random weights)")
        qos = image_publisher_qos(max(5, self.params.qos_depth))
        for output in self.frames.outputs():
            kind = String if output.encoding == JSON else Image
            self._publishers[output.key] = self.node.create_publisher(
                kind, f"~/{output.topic}", qos
            )
        self._diagnostics_pub = self.node.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self._diagnostics_timer = self.node.create_timer(
            self.params.diagnostics_period, self.publish_diagnostics
        )

    def activate(self) -> None:
        """Subscribe the camera and start serving frames."""
        qos = image_subscription_qos(self.params.qos_reliability, self.params.qos_depth)
        if self.params.input_transport == "compressed":
            self._subscription = self.node.create_subscription(
                CompressedImage, "image/compressed", self.worker.submit, qos
            )
        else:
            self._subscription = self.node.create_subscription(
                Image, "image", self.worker.submit, qos
            )
        self.worker.start()
        self.active = True
        self.node.get_logger().info(
            f"segmenting '{self._subscription.topic_name}' ({self.params.input_transport}) "
            f"with {self.params.model} at {self.params.input_width}x{self.params.input_height} "
            f"on {self.frames.device}"
        )

    def deactivate(self) -> None:
        """Stop serving: no subscription, no worker, no outputs."""
        self.active = False
        if self._subscription is not None:
            self.node.destroy_subscription(self._subscription)
            self._subscription = None
        self.worker.stop()

    def cleanup(self) -> None:
        """Free the models and the publishers (back to unconfigured)."""
        self.deactivate()
        for publisher in self._publishers.values():
            self.node.destroy_publisher(publisher)
        self._publishers.clear()
        if self._diagnostics_timer is not None:
            self.node.destroy_timer(self._diagnostics_timer)
            self._diagnostics_timer = None
        if self._diagnostics_pub is not None:
            self.node.destroy_publisher(self._diagnostics_pub)
            self._diagnostics_pub = None
        self.frames = None

    # -- per frame ---------------------------------------------------------------------
    def _process(self, msg: Image | CompressedImage) -> None:
        frames = self.frames
        if frames is None or not self.active:
            return
        stamp = (msg.header.stamp.sec, msg.header.stamp.nanosec)
        outcome = frames.run(
            lambda: _decode(msg),
            stamp,
            msg.header.frame_id,
            lambda frame, outputs: self._publish(msg, outputs),
        )
        if outcome.status != "processed":
            log = self.node.get_logger()
            report = log.warning if outcome.status == "rejected" else log.error
            report(
                f"{outcome.status} frame (stamp {stamp[0]}.{stamp[1]:09d}): {outcome.reason}",
                throttle_duration_sec=self.params.warn_throttle_sec,
            )

    def _publish(self, msg: Image | CompressedImage, outputs: list[tuple[Output, object]]) -> None:
        for output, value in outputs:
            if output.encoding == JSON:
                message = String(data=value)
            else:
                message = array_to_image_msg(value, output.encoding, msg.header)
            self._publishers[output.key].publish(message)

    def process_frame(self, msg: Image | CompressedImage) -> None:
        """Process one frame on the calling thread (the in-process benchmark uses it)."""
        self._process(msg)

    # -- parameters and diagnostics ----------------------------------------------------
    def _on_set_parameters(self, changes) -> SetParametersResult:
        from ..node_params import SegmentationParams

        for change in changes:
            if change.name not in SegmentationParams.names():
                continue
            spec = SegmentationParams.spec(change.name)
            if not spec.runtime:
                continue
            try:
                spec.validate(change.value)
            except ValueError as exc:
                return SetParametersResult(successful=False, reason=str(exc))
        for change in changes:
            if change.name == "overlay_alpha":
                self.params.overlay_alpha = float(change.value)
                if self.frames is not None:
                    self.frames.overlay.alpha = self.params.overlay_alpha
        return SetParametersResult(successful=True)

    def _status(self, counters: dict[str, int]) -> tuple[bytes, str]:
        frames = self.frames
        if self.worker.death is not None:
            return DiagnosticStatus.ERROR, f"worker thread died: {self.worker.death}"
        if not self.active:
            return DiagnosticStatus.OK, "inactive"
        if frames is not None and time.monotonic() - frames.last_problem_at < _WARN_HOLD_S:
            message = f"rejected or failed frames in the last {_WARN_HOLD_S:.0f} s; last: "
            return DiagnosticStatus.WARN, message + frames.last_problem
        if not self.trained:
            return DiagnosticStatus.WARN, "segmenting with an UNTRAINED model (random weights)"
        if counters["frames_received"] == 0:
            return DiagnosticStatus.OK, "waiting for images"
        return DiagnosticStatus.OK, "segmenting"

    def publish_diagnostics(self) -> None:
        frames = self.frames
        if frames is None or self._diagnostics_pub is None:
            return
        counters = {"frames_received": self.worker.received, "frames_dropped": self.worker.dropped}
        for key, value in frames.counters().items():
            counters[f"frames_{key}" if key in frames.counts else key] = value
        counters["worker_restarts"] = self.worker.restarts
        level, message = self._status(counters)
        fps, latency = frames.latency()
        topic = self._subscription.topic_name if self._subscription is not None else ""
        self._diagnostics_pub.publish(
            diagnostic_array(
                self.node.get_clock().now(),
                f"{self.node.get_fully_qualified_name()}: segmentation",
                str(frames.device),
                level,
                message,
                counters,
                fps,
                latency,
                {"model": self.params.model, "input_topic": topic, "active": str(self.active)},
            )
        )
        if self.worker.death is not None and self.active:
            self.node.get_logger().error(f"restarting the worker thread ({self.worker.death})")
            self.worker.start()
