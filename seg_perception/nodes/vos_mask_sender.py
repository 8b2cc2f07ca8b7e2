"""Mark the object a VOS node should follow: a mask PNG sent on ``<node>/vos/init`` with
the header of the next camera frame (raw or compressed), then the node's answer read
from ``/diagnostics`` (the target's stamp when accepted, ``vos_last_error`` when not)."""

from __future__ import annotations

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import Image

from ..image_codec import ImageDecodeError, compressed_msg_to_rgb, read_image_file
from ..vos.frame_buffer import stamp_text
from .diagnostics import segmentation_status
from .message_types import message_class
from .ros_commands import GraphNode, RosCommandError, absolute_name, wait_for_topic_type
from .ros_image import array_to_image_msg, stamp_key

__all__ = ["send_vos_mask"]


def frame_size(msg) -> tuple[int, int]:
    """(width, height) of a camera message, raw or compressed."""
    if hasattr(msg, "width"):
        return msg.width, msg.height
    try:
        rgb = compressed_msg_to_rgb(msg)
    except ImageDecodeError as exc:
        raise RosCommandError(f"the camera frame cannot be decoded: {exc}") from None
    return rgb.shape[1], rgb.shape[0]


def send_vos_mask(
    graph: GraphNode, node_name: str, mask_path: str, camera_topic: str, timeout: float
) -> str:
    """Send ``mask_path`` (non-zero = object) for the next frame on ``camera_topic`` to
    the VOS node ``node_name``; returns the stamp it was accepted for.

    Raises:
        RosCommandError: unreadable mask, another size than the frames, no camera frame
            or no VOS node, or the node refused it (its reason).
    """
    node_name = absolute_name(node_name).rstrip("/")
    try:
        mask = read_image_file(mask_path, mode="L") > 0
    except ImageDecodeError as exc:
        raise RosCommandError(str(exc)) from None
    camera_topic = absolute_name(camera_topic)
    camera_class = message_class(wait_for_topic_type(graph, camera_topic, timeout))

    status: dict[str, str] = {}

    def on_diagnostics(msg: DiagnosticArray) -> None:
        values = segmentation_status(msg, node_name)
        if values is not None:
            status.clear()
            status.update(values)

    node = graph.node
    node.create_subscription(DiagnosticArray, "/diagnostics", on_diagnostics, 10)
    init = node.create_publisher(
        Image, f"{node_name}/vos/init", QoSProfile(depth=2, reliability=ReliabilityPolicy.RELIABLE)
    )
    if not graph.spin_until(lambda: init.get_subscription_count() > 0, timeout):
        raise RosCommandError(
            f"nothing subscribes {node_name}/vos/init: is {node_name} running with vos:=true?"
        )
    if not graph.spin_until(lambda: "vos_state" in status, timeout):
        raise RosCommandError(f"no VOS diagnostics from {node_name} within {timeout:g} s")
    error_before = status.get("vos_last_error")

    frames: list = []
    node.create_subscription(camera_class, camera_topic, frames.append, qos_profile_sensor_data)
    if not graph.spin_until(lambda: bool(frames), timeout):
        raise RosCommandError(f"no frame on {camera_topic} within {timeout:g} s")
    frame = frames[0]
    width, height = frame_size(frame)
    if (mask.shape[1], mask.shape[0]) != (width, height):
        raise RosCommandError(
            f"{mask_path} is {mask.shape[1]}x{mask.shape[0]}, the frames on {camera_topic} "
            f"are {width}x{height}"
        )
    init.publish(
        array_to_image_msg(np.where(mask, 255, 0).astype(np.uint8), "mono8", frame.header)
    )
    stamp = stamp_text(stamp_key(frame))

    def answered() -> bool:
        refused = status.get("vos_last_error") not in (None, error_before)
        return refused or status.get("vos_target_stamp") == stamp

    if not graph.spin_until(answered, timeout):
        raise RosCommandError(
            f"{node_name} did not take the mask within {timeout:g} s (vos_state: "
            f"{status.get('vos_state')}, last error: {status.get('vos_last_error', 'none')})"
        )
    if status.get("vos_target_stamp") != stamp:
        raise RosCommandError(f"{node_name} refused the mask: {status['vos_last_error']}")
    return stamp
