"""The segmentation node's ROS side, for a plain or a lifecycle (managed) node.

``configure`` builds the frame pipeline, one publisher per pipeline output, the class
services (``~/class_names``, few-shot ``~/fewshot/sync``) and, in video-object mode,
``~/vos/init`` and ``~/vos/reset``;
``activate`` subscribes the camera and starts the worker; ``deactivate`` stops both;
``cleanup`` frees the pipeline. Everything a frame goes through is in
``stages.frame_pipeline``; this module only maps outputs to publishers and reports.
"""

from __future__ import annotations

import threading
import time

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rcl_interfaces.msg import SetParametersResult
from rclpy.node import Node
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import String

from ..image_codec import compressed_msg_to_rgb, image_msg_to_rgb
from ..latest_worker import LatestOnlyWorker
from ..stages.base import JSON, Output
from ..stages.build import build_frame_pipeline
from ..stages.frame_pipeline import ALWAYS_WANTED, FramePipeline
from ..stages.segmentation_params import PARAM_SPECS
from .class_services import ClassServices
from .diagnostics import diagnostic_array, frame_counters
from .input_watch import IMAGE_TYPES, silent_input_reason
from .parameter_declaration import runtime_change_problem
from .qos import image_publisher_qos, image_subscription_qos
from .ros_image import array_to_image_msg
from .vos_topics import VOSTopics

__all__ = ["SegmentationRunner"]

_WARN_HOLD_S = 10.0  # diagnostics stay WARN this long after a rejected or failed frame
_SILENT_LOG_PERIOD_S = 10.0  # the "receiving nothing" warning, at most this often


def _decode(msg: Image | CompressedImage, max_pixels: int):
    if isinstance(msg, CompressedImage):
        return compressed_msg_to_rgb(msg, max_pixels)
    return image_msg_to_rgb(msg, max_pixels)


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
        self.live_outputs: frozenset[str] = frozenset()  # subscribed at the last frame
        self._subscription = None
        self.worker: LatestOnlyWorker = LatestOnlyWorker(self._process, "segmentation")
        self.worker.on_death = self._on_worker_death
        self._last_frame_at = 0.0  # monotonic time of the last frame (or of activation)
        self._death_reported_at = -float("inf")
        self._diagnostics_pub = None
        self._diagnostics_timer = None
        self.class_services: ClassServices | None = None
        self.vos_topics: VOSTopics | None = None
        node.add_on_set_parameters_callback(self._on_set_parameters)

    # -- lifecycle ---------------------------------------------------------------------
    def configure(self) -> None:
        """Load the models and create the publishers (raises on a bad checkpoint)."""
        logger = self.node.get_logger()
        self.frames, self.trained = build_frame_pipeline(
            self.params, log=logger.info, warn=logger.warning
        )
        if not self.trained:
            logger.warning("the segmentation model is UNTRAINED (random weights)")
        qos = image_publisher_qos(max(5, self.params.qos_depth))
        for output in self.frames.outputs():
            kind = String if output.encoding == JSON else Image
            self._publishers[output.key] = self.node.create_publisher(
                kind, f"~/{output.topic}", qos
            )
        self.class_services = ClassServices(self.node, self.params, self.frames)
        self.vos_topics = VOSTopics.attach(
            self.node,
            self.frames,
            self.params,
            lambda msg: _decode(msg, self.params.max_input_pixels),
        )
        self._diagnostics_pub = self.node.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self._diagnostics_timer = self.node.create_timer(
            self.params.diagnostics_period, self.publish_diagnostics
        )

    def input_topic(self) -> str:
        """``image``, or for compressed input ``image/compressed``, which follows the
        ``image`` remap as image_transport does unless it is remapped itself."""
        if self.params.input_transport == "raw":
            return "image"
        resolve = getattr(self.node, "resolve_topic_name", None)
        if resolve is None:
            return "image/compressed"
        if resolve("image/compressed") != resolve("image/compressed", only_expand=True):
            return "image/compressed"  # remapped on its own
        return resolve("image") + "/compressed"

    def activate(self) -> None:
        """Subscribe the camera and start serving frames."""
        qos = image_subscription_qos(self.params.qos_reliability, self.params.qos_depth)
        kind = IMAGE_TYPES[self.params.input_transport][1]
        self._subscription = self.node.create_subscription(
            kind, self.input_topic(), self._on_image, qos
        )
        self._last_frame_at = time.monotonic()
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
        if self.class_services is not None:
            self.class_services.destroy()
            self.class_services = None
        if self.vos_topics is not None:
            self.vos_topics.destroy()
            self.vos_topics = None
        if self._diagnostics_timer is not None:
            self.node.destroy_timer(self._diagnostics_timer)
            self._diagnostics_timer = None
        if self._diagnostics_pub is not None:
            self.node.destroy_publisher(self._diagnostics_pub)
            self._diagnostics_pub = None
        if self.frames is not None:
            self.frames.close()
        self.frames = None

    # -- per frame ---------------------------------------------------------------------
    def _on_image(self, msg: Image | CompressedImage) -> None:
        self._last_frame_at = time.monotonic()
        if self.vos_topics is not None:
            self.vos_topics.remember(msg)
        self.worker.submit(msg)

    def _subscribed_outputs(self) -> frozenset[str]:
        """The outputs with a subscriber now (a matched-reader count per publisher, a few
        microseconds each); kept for diagnostics."""
        self.live_outputs = frozenset(
            key
            for key, publisher in self._publishers.items()
            if publisher.get_subscription_count() > 0
        )
        return self.live_outputs

    def _process(self, msg: Image | CompressedImage, lazy: bool = True) -> None:
        frames = self.frames
        if frames is None or not self.active:
            return
        stamp = (msg.header.stamp.sec, msg.header.stamp.nanosec)
        outcome = frames.run(
            lambda: _decode(msg, self.params.max_input_pixels),
            stamp,
            msg.header.frame_id,
            lambda frame, outputs: self._publish(msg, outputs),
            wanted=self._subscribed_outputs() if lazy else None,
        )
        if outcome.status != "processed":
            if not self.node.context.ok():
                return  # shutting down (Ctrl-C): the publishers are gone, not a frame's fault
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
        """Process one frame on the calling thread with every output computed, subscribed
        or not (the in-process benchmark uses it)."""
        self._process(msg, lazy=False)

    # -- parameters and diagnostics ----------------------------------------------------
    def _on_set_parameters(self, changes) -> SetParametersResult:
        problem = runtime_change_problem(changes, PARAM_SPECS)
        if problem:
            return SetParametersResult(successful=False, reason=problem)
        for change in changes:
            if change.name == "overlay_alpha":
                self.params.overlay_alpha = float(change.value)
                if self.frames is not None:
                    self.frames.overlay.alpha = self.params.overlay_alpha
        return SetParametersResult(successful=True)

    def _on_worker_death(self, reason: str) -> None:
        """Called on the dying worker thread: say so at once (diagnostics ERROR, log);
        the next diagnostics tick restarts it."""
        self._death_reported_at = time.monotonic()
        self.node.get_logger().error(f"the segmentation worker thread died: {reason}")
        self.publish_diagnostics()

    def silent_input(self) -> str | None:
        """Why no frame came for ``stale_after_sec``, or None while frames flow."""
        idle = time.monotonic() - self._last_frame_at
        if not self.active or idle < self.params.stale_after_sec:
            return None
        return silent_input_reason(
            self.node,
            self._subscription.topic_name,
            self.params.input_transport,
            self.params.qos_reliability,
            idle,
            self.worker.received == 0,
        )

    def _status(self, counters: dict[str, int]) -> tuple[bytes, str]:
        frames = self.frames
        if self.worker.death is not None:
            return DiagnosticStatus.ERROR, f"worker thread died: {self.worker.death}"
        if time.monotonic() - self._death_reported_at < _WARN_HOLD_S:
            return DiagnosticStatus.ERROR, "worker thread died and was restarted"
        if not self.active:
            return DiagnosticStatus.OK, "inactive"
        if frames is not None and time.monotonic() - frames.last_problem_at < _WARN_HOLD_S:
            message = f"rejected or failed frames in the last {_WARN_HOLD_S:.0f} s; last: "
            return DiagnosticStatus.WARN, message + frames.last_problem
        silent = self.silent_input()
        if silent:
            self.node.get_logger().warning(silent, throttle_duration_sec=_SILENT_LOG_PERIOD_S)
            return DiagnosticStatus.WARN, silent
        if not self.trained:
            return DiagnosticStatus.WARN, "segmenting with an UNTRAINED model (random weights)"
        return DiagnosticStatus.OK, "segmenting"

    def publish_diagnostics(self) -> None:
        on_death_thread = threading.current_thread().name == self.worker.name
        frames = self.frames
        if frames is None or self._diagnostics_pub is None:
            return
        counters = frame_counters(frames, self.worker)
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
                {
                    "model": self.params.model,
                    "inference_backend": frames.segmentation.backend,
                    "input_topic": topic,
                    "active": str(self.active),
                    "live_outputs": ", ".join(sorted(self.live_outputs | ALWAYS_WANTED)),
                    **(self.class_services.diagnostics() if self.class_services else {}),
                    **frames.stage_values(),
                },
            )
        )
        if self.worker.death is not None and self.active and not on_death_thread:
            self.node.get_logger().error(f"restarting the worker thread ({self.worker.death})")
            self.worker.start()
