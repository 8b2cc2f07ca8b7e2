"""The video object mode's ROS side: ``~/vos/init`` and ``~/vos/reset``.

``~/vos/init`` (``sensor_msgs/Image``, mono8, reliable): the target's mask (non-zero =
object) for the frame with the same header stamp, one of the last
``vos_buffer_frames`` the node received (kept as messages when they arrive, so a frame
the worker skipped, or has not reached yet, can be named too). A bad one (wrong
encoding or size, empty, full, unknown stamp) is logged as one line and shown in
diagnostics (``vos_last_error``); the previous target is kept. An init naming a stamp
newer than every frame received waits for that frame (it may still be on its way: the
sender saw it first) until a frame at least as new arrives, or both 2 s and 10 older
frames have passed (``vos.early_init``). ``~/vos/reset``
(``std_srvs/Trigger``) forgets the target. ``~/vos/mask`` is a pipeline output.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from std_srvs.srv import Trigger

from ..image_codec import ImageDecodeError, decode_raw, raw_image_of
from ..stages.frame_pipeline import FramePipeline
from ..vos.early_init import EarlyInit
from ..vos.frame_buffer import FrameBuffer, VOSInitError
from ..vos.target_tracker import TargetTracker
from .ros_image import stamp_key

__all__ = ["VOSTopics"]

MASK_ENCODINGS = ("mono8",)


class VOSTopics:
    """Init subscription and reset service of one node's VOS stage."""

    def __init__(
        self,
        node: Node,
        tracker: TargetTracker,
        max_pixels: int,
        buffer_frames: int,
        decode: Callable[[object], np.ndarray],
    ):
        self.node, self.tracker, self.max_pixels = node, tracker, max_pixels
        self.decode = decode
        self.received: FrameBuffer[object] = FrameBuffer(buffer_frames)
        self.early: EarlyInit[Image] = EarlyInit()  # an init awaiting the frame it names
        qos = QoSProfile(depth=2, reliability=ReliabilityPolicy.RELIABLE)
        self.subscription = node.create_subscription(Image, "~/vos/init", self._on_init, qos)
        self.service = node.create_service(Trigger, "~/vos/reset", self._on_reset)

    @classmethod
    def attach(
        cls, node: Node, frames: FramePipeline, params, decode: Callable[[object], np.ndarray]
    ) -> VOSTopics | None:
        """The topics of ``frames``' VOS stage, or None when the node runs without one."""
        stage = frames.stage("vos")
        if stage is None:
            return None
        return cls(node, stage.tracker, params.max_input_pixels, params.vos_buffer_frames, decode)

    def remember(self, msg) -> None:
        """Keep a received camera message an init may name by its stamp (no decoding);
        an init that waits for this frame (or a newer one, or too long) is handled now."""
        stamp = stamp_key(msg)
        self.received.add(stamp, msg)
        init = self.early.frame_taken(stamp)
        if init is not None:
            self._on_init(init, may_wait=False)

    def _on_init(self, msg: Image, may_wait: bool = True) -> None:
        stamp = stamp_key(msg)
        try:
            try:
                pixels = decode_raw(raw_image_of(msg), MASK_ENCODINGS, self.max_pixels)
            except ImageDecodeError as exc:
                raise VOSInitError(f"bad init mask: {exc}") from None
            if may_wait and self.received.is_ahead(stamp):
                self.early.hold(msg, stamp)
                return  # handled when its frame (or a newer one) arrives
            frame = self.received.find(stamp)
            try:
                rgb = self.decode(frame)
            except ValueError as exc:
                raise VOSInitError(f"the frame it names cannot be decoded: {exc}") from None
            self.tracker.request_init(stamp, pixels > 0, rgb)
        except VOSInitError as exc:
            self.tracker.reject(str(exc))
            self.node.get_logger().error(f"~/vos/init rejected, target kept: {exc}")
            return
        self.node.get_logger().info(
            f"~/vos/init: learning a target of {int((pixels > 0).sum())} pixels "
            f"(stamp {stamp[0]}.{stamp[1]:09d})"
        )

    def _on_reset(self, request: Trigger.Request, response: Trigger.Response):
        self.early.clear()
        self.tracker.reset()
        response.success, response.message = True, "VOS target forgotten; idle"
        return response

    def destroy(self) -> None:
        self.node.destroy_subscription(self.subscription)
        self.node.destroy_service(self.service)
