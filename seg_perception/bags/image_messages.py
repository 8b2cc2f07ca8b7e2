"""Image messages of a bag: their types, header stamps, pixels, and the bag errors.

Pixels are decoded by the node's own functions (``seg_perception.image_codec``). On
top of those, a message type, encoding or compressed format that no frame can be
decoded in raises ``UnsupportedImageError`` (the bag cannot be used), while a
malformed frame raises ``ImageDecodeError`` (that frame is skipped). No ROS imports.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from ..image_codec import (
    SUPPORTED_INPUT_ENCODINGS,
    ImageDecodeError,
    compressed_msg_to_rgb,
    decode_raw,
    image_msg_to_rgb,
    raw_image_of,
)
from ..stamps import Stamp, frame_name

__all__ = [
    "IMAGE_TYPE",
    "COMPRESSED_TYPE",
    "IMAGE_TYPES",
    "LABEL_ENCODINGS",
    "BagError",
    "UnsupportedImageError",
    "MessageDecodeError",
    "FRAME_ERRORS",
    "Stamp",
    "frame_name",
    "message_to_rgb",
    "message_to_label",
]

IMAGE_TYPE = "sensor_msgs/msg/Image"
COMPRESSED_TYPE = "sensor_msgs/msg/CompressedImage"
IMAGE_TYPES = (IMAGE_TYPE, COMPRESSED_TYPE)
LABEL_ENCODINGS = ("mono8", "8UC1")  # one byte per pixel: the class id


class BagError(ValueError):
    """The bag cannot be used as asked; the message (one line) says why."""


class UnsupportedImageError(BagError):
    """A message type, encoding or compressed format the pipeline cannot take."""


class MessageDecodeError(ValueError):
    """One message cannot be deserialized (the rest of the bag may be fine)."""


FRAME_ERRORS = (MessageDecodeError, ImageDecodeError)
"""Errors of one frame, which bag tools skip and count (never the bag-level ones)."""


def _check_compressed_format(image_format: str) -> None:
    fmt = image_format.lower()
    if "compresseddepth" in fmt or (fmt and not any(k in fmt for k in ("jpeg", "jpg", "png"))):
        raise UnsupportedImageError(
            f"unsupported compressed image format {image_format!r}; expected jpeg or png"
        )


def message_to_rgb(msg: Any, msgtype: str) -> np.ndarray:
    """(H, W, 3) uint8 RGB of an ``Image`` or ``CompressedImage``, decoded like the node does.

    Raises:
        UnsupportedImageError: a type, encoding or format no frame of it can be decoded in.
        ImageDecodeError: this frame is malformed (wrong size, truncated, undecodable).
    """
    if msgtype == COMPRESSED_TYPE:
        _check_compressed_format(msg.format)
        return compressed_msg_to_rgb(msg)
    if msgtype != IMAGE_TYPE:
        raise UnsupportedImageError(
            f"unsupported message type {msgtype}; expected {' or '.join(IMAGE_TYPES)}"
        )
    if msg.encoding not in SUPPORTED_INPUT_ENCODINGS:
        raise UnsupportedImageError(
            f"unsupported image encoding {msg.encoding!r}; expected one of "
            f"{', '.join(SUPPORTED_INPUT_ENCODINGS)}"
        )
    return image_msg_to_rgb(msg)


def message_to_label(msg: Any, msgtype: str) -> np.ndarray:
    """(H, W) uint8 class ids of a mono8 (or 8UC1) ``Image``.

    Raises:
        UnsupportedImageError: not an ``Image``, or not one byte per pixel.
        ImageDecodeError: this label image is malformed.
    """
    if msgtype != IMAGE_TYPE:
        raise UnsupportedImageError(
            f"unsupported label message type {msgtype}; expected {IMAGE_TYPE} (mono8 class ids)"
        )
    if msg.encoding not in LABEL_ENCODINGS:
        raise UnsupportedImageError(
            f"unsupported label encoding {msg.encoding!r}; expected mono8 class ids"
        )
    return decode_raw(replace(raw_image_of(msg), encoding="mono8"), ("mono8",))
