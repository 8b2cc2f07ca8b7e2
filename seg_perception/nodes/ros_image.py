"""NumPy -> rclpy ``sensor_msgs/Image``, and a message's stamp as a key; decoding messages
is in ``seg_perception.image_codec``."""

from __future__ import annotations

import numpy as np
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from ..image_codec import encode_raw

__all__ = ["array_to_image_msg", "stamp_key"]


def array_to_image_msg(pixels: np.ndarray, encoding: str, header: Header) -> Image:
    """An ``Image`` with ``header`` (stamp and frame_id of the input) and ``pixels``."""
    fields = encode_raw(pixels, encoding)
    msg = Image()
    msg.header = header
    msg.height, msg.width = fields.height, fields.width
    msg.encoding = fields.encoding
    msg.is_bigendian = 0
    msg.step = fields.step
    msg.data = fields.data
    return msg


def stamp_key(msg) -> tuple[int, int]:
    """``(sec, nanosec)`` of a stamped message's header."""
    return (msg.header.stamp.sec, msg.header.stamp.nanosec)
