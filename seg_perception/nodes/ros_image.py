"""``sensor_msgs`` image messages <-> NumPy, on top of ``seg_perception.image_codec``."""

from __future__ import annotations

import numpy as np
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header

from ..image_codec import (
    SUPPORTED_INPUT_ENCODINGS,
    RawImage,
    decode_compressed,
    decode_raw,
    encode_raw,
    to_rgb,
)

__all__ = ["image_msg_to_rgb", "compressed_msg_to_rgb", "array_to_image_msg", "image_msg_to_array"]


def _raw_fields(msg: Image) -> RawImage:
    return RawImage(
        msg.height, msg.width, msg.encoding, msg.step, bytes(msg.data), bool(msg.is_bigendian)
    )


def image_msg_to_array(msg: Image) -> np.ndarray:
    """Pixels of any supported encoding (including 32FC1) in the message's own layout."""
    return decode_raw(_raw_fields(msg))


def image_msg_to_rgb(msg: Image) -> np.ndarray:
    """(H, W, 3) uint8 RGB from an rgb8/bgr8/rgba8/bgra8/mono8/mono16 ``Image``."""
    return to_rgb(decode_raw(_raw_fields(msg), SUPPORTED_INPUT_ENCODINGS), msg.encoding)


def compressed_msg_to_rgb(msg: CompressedImage) -> np.ndarray:
    """(H, W, 3) uint8 RGB from a JPEG/PNG ``CompressedImage``."""
    return decode_compressed(bytes(msg.data), msg.format)


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
