"""The demo's player and recorder: publishes frames, collects the node's outputs."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image

from ..image_codec import image_msg_to_array
from .diagnostics import segmentation_status
from .ros_graph import NodeProcess, spin_until
from .ros_image import array_to_image_msg, stamp_key

__all__ = ["DemoPlayer"]


class DemoPlayer(Node):
    """Publishes ``frames`` (``[(stem, rgb, label)]``) on ``image_topic`` and records the
    outputs of the node at ``node_ns``, matched to frames by header stamp."""

    def __init__(
        self,
        frames,
        image_topic: str,
        node_ns: str,
        outputs: Sequence[str] = ("labels", "overlay", "confidence"),
    ):
        super().__init__("seg_perception_demo_player")
        self.frames, self.node_ns = frames, node_ns
        reliable = QoSProfile(depth=len(frames) + 1, reliability=ReliabilityPolicy.RELIABLE)
        self.image_pub = self.create_publisher(Image, image_topic, reliable)
        self.labels: dict[int, np.ndarray] = {}
        self.overlays: dict[int, np.ndarray] = {}
        self.confidence: dict[int, np.ndarray] = {}
        self.latency_s: dict[int, float] = {}
        self.received_at: dict[int, float] = {}
        self.sent: dict[tuple[int, int], tuple[int, float]] = {}
        self.published = 0
        self.last_diagnostics: dict | None = None
        handlers = {
            "labels": self._on_labels,
            "overlay": self._recorder(self.overlays),
            "confidence": self._recorder(self.confidence),
        }
        self.output_subs = [
            self.create_subscription(Image, f"{node_ns}/{name}", handlers[name], reliable)
            for name in ("labels", *(o for o in outputs if o != "labels"))
        ]
        self.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, 10)
        self._timer = None
        self._last_output = time.monotonic()

    def connected(self) -> bool:
        """The node subscribes our images and publishes every output we listen to."""
        return self.image_pub.get_subscription_count() > 0 and all(
            self.count_publishers(sub.topic_name) > 0 for sub in self.output_subs
        )

    def play(self, rate: float) -> None:
        self._timer = self.create_timer(1.0 / rate, self._publish_next)

    def _publish_next(self) -> None:
        if self.published >= len(self.frames):
            self._timer.cancel()
            return
        header_stamp = self.get_clock().now().to_msg()
        msg = array_to_image_msg(self.frames[self.published][1], "rgb8", Image().header)
        msg.header.stamp = header_stamp
        msg.header.frame_id = "camera"
        self.sent[(header_stamp.sec, header_stamp.nanosec)] = (self.published, time.monotonic())
        self.image_pub.publish(msg)
        self.published += 1

    def play_through(
        self, executor, node: NodeProcess, rate: float, startup_timeout: float
    ) -> float:
        """Wait until the started ``node`` is connected, play every frame at ``rate`` Hz
        and wait for its outputs; returns seconds from the first frame to the end.

        Raises:
            ChildProcessError: the node did not connect in time or exited at start-up
                (with the node's last log line).
        """
        connected = spin_until(
            executor, lambda: self.connected() or not node.alive(), startup_timeout
        )
        if not node.alive():
            lines = [line for line in node.log_text().splitlines() if line.strip()]
            reason = lines[-1] if lines else "no output"
            raise ChildProcessError(f"{node.executable} exited at start-up: {reason}")
        if not connected:
            raise ChildProcessError(
                f"{node.executable} did not connect within {startup_timeout:.0f} s"
            )
        started = time.monotonic()
        self.play(rate)
        spin_until(executor, self.finished_publishing, len(self.frames) / rate + 10)
        spin_until(executor, lambda: self.all_received() or not node.alive(), 15.0)
        return time.monotonic() - started

    def output_fps(self) -> float:
        """Label images received per second, first to last."""
        times = sorted(self.received_at.values())
        return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0

    def finished_publishing(self) -> bool:
        return self.published >= len(self.frames)

    def all_received(self, idle_timeout: float = 4.0) -> bool:
        """Every published frame has all three outputs, or none came for ``idle_timeout``
        seconds (the node drops stale frames by design, and a reliable reader recovers
        a lost fragment only at the writer's next heartbeat, a few seconds later)."""
        if not self.finished_publishing():
            return False
        complete = set(self.labels) & set(self.overlays) & set(self.confidence)
        if len(complete) >= len(self.frames):
            return True
        return time.monotonic() - self._last_output > idle_timeout

    def _frame_index(self, msg) -> int | None:
        sent = self.sent.get(stamp_key(msg))
        return None if sent is None else sent[0]

    def _on_labels(self, msg: Image) -> None:
        index = self._frame_index(msg)
        if index is None:
            return
        self.labels[index] = image_msg_to_array(msg).copy()
        now = self._last_output = time.monotonic()
        self.received_at[index] = now
        self.latency_s[index] = now - self.sent[stamp_key(msg)][1]

    def _recorder(self, store: dict[int, np.ndarray]):
        def record(msg: Image) -> None:
            index = self._frame_index(msg)
            if index is not None:
                store[index] = image_msg_to_array(msg).copy()
                self._last_output = time.monotonic()

        return record

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        values = segmentation_status(msg, self.node_ns)
        if values is not None:
            self.last_diagnostics = values
