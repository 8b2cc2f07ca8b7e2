"""The video object mode's ROS side: ``~/vos/init`` and ``~/vos/reset``.

``~/vos/init`` (``sensor_msgs/Image``, mono8, reliable): the target's mask (non-zero =
object) for the frame with the same header stamp, one of the last
``vos_buffer_frames`` the node received. A bad one (wrong encoding or size, empty,
full, unknown stamp) is logged as one line and shown in diagnostics
(``vos_last_error``); the previous target is kept. ``~/vos/reset``
(``std_srvs/Trigger``) forgets the target. ``~/vos/mask`` is a pipeline output.
"""

from __future__ import annotations

from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from std_srvs.srv import Trigger

from ..frame_pipeline import FramePipeline
from ..image_codec import ImageDecodeError, decode_raw, raw_image_of
from ..vos.target_tracker import TargetTracker, VOSInitError

__all__ = ["VOSTopics"]

MASK_ENCODINGS = ("mono8",)


class VOSTopics:
    """Init subscription and reset service of one node's VOS stage."""

    def __init__(self, node: Node, tracker: TargetTracker, max_pixels: int):
        self.node, self.tracker, self.max_pixels = node, tracker, max_pixels
        qos = QoSProfile(depth=2, reliability=ReliabilityPolicy.RELIABLE)
        self.subscription = node.create_subscription(Image, "~/vos/init", self._on_init, qos)
        self.service = node.create_service(Trigger, "~/vos/reset", self._on_reset)

    @classmethod
    def attach(cls, node: Node, frames: FramePipeline, max_pixels: int) -> VOSTopics | None:
        """The topics of ``frames``' VOS stage, or None when the node runs without one."""
        stage = frames.stage("vos")
        return None if stage is None else cls(node, stage.tracker, max_pixels)

    def _on_init(self, msg: Image) -> None:
        stamp = (msg.header.stamp.sec, msg.header.stamp.nanosec)
        try:
            try:
                pixels = decode_raw(raw_image_of(msg), MASK_ENCODINGS, self.max_pixels)
            except ImageDecodeError as exc:
                self.tracker.last_error = f"bad init mask: {exc}"
                raise VOSInitError(self.tracker.last_error) from None
            self.tracker.request_init(stamp, pixels > 0)
        except VOSInitError as exc:
            self.node.get_logger().error(f"~/vos/init rejected, target kept: {exc}")
            return
        self.node.get_logger().info(
            f"~/vos/init: learning a target of {int((pixels > 0).sum())} pixels "
            f"(stamp {stamp[0]}.{stamp[1]:09d})"
        )

    def _on_reset(self, request: Trigger.Request, response: Trigger.Response):
        self.tracker.reset()
        response.success, response.message = True, "VOS target forgotten; idle"
        return response

    def destroy(self) -> None:
        self.node.destroy_subscription(self.subscription)
        self.node.destroy_service(self.service)
