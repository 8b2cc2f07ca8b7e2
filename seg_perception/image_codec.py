"""Conversions between ROS image message fields and NumPy arrays (no ROS imports).

The node and the bag tools share these, so a ``sensor_msgs/Image`` or
``CompressedImage`` decodes the same way live and offline: rclpy and ``rosbags``
messages have the same field names, so the ``*_msg_*`` functions take either. Every
malformed input raises ``ImageDecodeError`` with a one-line reason.

Pixel budget: a frame larger than ``max_pixels`` is refused before any pixel is
decoded (a raw image's size is in its fields, a JPEG's or PNG's in its header), so a
17 KB PNG that declares 12000x12000 costs nothing. Compressed frames are decoded with
Pillow, which raises on corrupt or truncated data instead of writing libjpeg/libpng
messages to stderr (OpenCV lets those through, unthrottled, and returns garbage pixels
for a corrupt JPEG).
"""

from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image as PILImage

__all__ = [
    "ImageDecodeError",
    "RawImage",
    "SUPPORTED_INPUT_ENCODINGS",
    "raw_image_of",
    "image_msg_to_array",
    "image_msg_to_rgb",
    "compressed_msg_to_rgb",
    "decode_raw",
    "encode_raw",
    "decode_compressed",
    "read_image_file",
    "check_image_file",
    "encode_compressed",
    "to_rgb",
    "check_pixel_budget",
    "DEFAULT_MAX_PIXELS",
]

DEFAULT_MAX_PIXELS = 4096 * 4096  # 16.8 Mpx
_COMPRESSED_FORMATS = {"JPEG": "jpeg", "PNG": "png"}

# encoding: (channels, numpy dtype)
_LAYOUTS: dict[str, tuple[int, np.dtype]] = {
    "rgb8": (3, np.dtype(np.uint8)),
    "bgr8": (3, np.dtype(np.uint8)),
    "rgba8": (4, np.dtype(np.uint8)),
    "bgra8": (4, np.dtype(np.uint8)),
    "mono8": (1, np.dtype(np.uint8)),
    "mono16": (1, np.dtype(np.uint16)),
    "32FC1": (1, np.dtype(np.float32)),
}
SUPPORTED_INPUT_ENCODINGS = ("rgb8", "bgr8", "rgba8", "bgra8", "mono8", "mono16")


class ImageDecodeError(ValueError):
    """The image message cannot be turned into pixels; the message says why."""


@dataclass(frozen=True)
class RawImage:
    """The pixel fields of a ``sensor_msgs/Image``."""

    height: int
    width: int
    encoding: str
    step: int
    data: bytes | memoryview
    is_bigendian: bool = False


def _shared_bytes(data: Any) -> memoryview:
    """A message's ``data`` as read-only bytes, shared rather than copied: a NumPy uint8
    array (``rosbags``), an ``array.array('B')`` (rclpy) or ``bytes``."""
    return memoryview(data).cast("B").toreadonly()


def raw_image_of(msg: Any) -> RawImage:
    """The fields of a ``sensor_msgs/Image`` from rclpy or ``rosbags`` (pixels not copied)."""
    return RawImage(
        int(msg.height),
        int(msg.width),
        msg.encoding,
        int(msg.step),
        _shared_bytes(msg.data),
        bool(msg.is_bigendian),
    )


def check_pixel_budget(width: int, height: int, max_pixels: int = DEFAULT_MAX_PIXELS) -> None:
    """Raise ``ImageDecodeError`` for a frame of more than ``max_pixels`` pixels."""
    if width * height > max_pixels:
        raise ImageDecodeError(
            f"frame of {width}x{height} = {width * height} pixels exceeds the pixel budget "
            f"of {max_pixels}"
        )


def decode_raw(
    image: RawImage,
    encodings: tuple[str, ...] = tuple(_LAYOUTS),
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> np.ndarray:
    """Return the pixels as (H, W) or (H, W, C) in the message's own encoding.

    The array views ``image.data`` when possible (rows may be padded: ``step`` is honoured).
    """
    if image.encoding not in encodings:
        raise ImageDecodeError(
            f"unsupported encoding {image.encoding!r}; expected one of {', '.join(encodings)}"
        )
    channels, dtype = _LAYOUTS[image.encoding]
    if image.height <= 0 or image.width <= 0:
        raise ImageDecodeError(f"empty image {image.width}x{image.height}")
    check_pixel_budget(image.width, image.height, max_pixels)
    row_bytes = image.width * channels * dtype.itemsize
    if image.step < row_bytes:
        raise ImageDecodeError(
            f"step {image.step} is smaller than a {image.width}-pixel {image.encoding} row "
            f"({row_bytes} bytes)"
        )
    expected = image.step * image.height
    if len(image.data) != expected:
        raise ImageDecodeError(
            f"data has {len(image.data)} bytes, expected step*height = {expected}"
        )
    if image.step % dtype.itemsize:
        raise ImageDecodeError(f"step {image.step} is not a multiple of {dtype.itemsize} bytes")
    buffer = np.frombuffer(image.data, dtype=np.uint8).reshape(image.height, image.step)
    pixels = buffer[:, :row_bytes].view(dtype.newbyteorder(">" if image.is_bigendian else "<"))
    pixels = pixels.reshape(image.height, image.width, channels)
    if image.is_bigendian and dtype.itemsize > 1:
        pixels = pixels.astype(dtype)  # to native byte order
    return pixels[:, :, 0] if channels == 1 else pixels


def to_rgb(pixels: np.ndarray, encoding: str) -> np.ndarray:
    """Convert decoded pixels of ``encoding`` to contiguous (H, W, 3) uint8 RGB."""
    if encoding == "rgb8":
        return np.ascontiguousarray(pixels)
    if encoding == "bgr8":
        return cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB)
    if encoding == "rgba8":
        return cv2.cvtColor(pixels, cv2.COLOR_RGBA2RGB)
    if encoding == "bgra8":
        return cv2.cvtColor(pixels, cv2.COLOR_BGRA2RGB)
    if encoding == "mono8":
        return cv2.cvtColor(pixels, cv2.COLOR_GRAY2RGB)
    if encoding == "mono16":
        return cv2.cvtColor((pixels >> 8).astype(np.uint8), cv2.COLOR_GRAY2RGB)
    raise ImageDecodeError(f"cannot convert {encoding!r} to rgb8")


def encode_raw(pixels: np.ndarray, encoding: str) -> RawImage:
    """Pack an array as message fields (little endian, unpadded rows)."""
    if encoding not in _LAYOUTS:
        raise ValueError(f"unsupported encoding {encoding!r}")
    channels, dtype = _LAYOUTS[encoding]
    if pixels.dtype != dtype:
        raise ValueError(f"{encoding} needs {dtype} pixels, got {pixels.dtype}")
    shape_channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    if pixels.ndim not in (2, 3) or shape_channels != channels:
        raise ValueError(f"{encoding} needs {channels} channel(s), got shape {pixels.shape}")
    height, width = pixels.shape[:2]
    data = np.ascontiguousarray(pixels, dtype=dtype.newbyteorder("<")).tobytes()
    return RawImage(height, width, encoding, width * channels * dtype.itemsize, data)


def decode_compressed(
    data: bytes | memoryview,
    format_: str = "",
    max_pixels: int = DEFAULT_MAX_PIXELS,
    mode: str | None = "RGB",
) -> np.ndarray:
    """Decode a JPEG/PNG ``CompressedImage`` payload to (H, W, 3) uint8 RGB (``mode``
    "L": (H, W) uint8 grey; None: the pixels as stored).

    The header is read first: another format, or a size over ``max_pixels``, is refused
    before decoding. Corrupt or truncated data raises ``ImageDecodeError``.
    """
    if not data:
        raise ImageDecodeError(f"empty compressed image (format {format_!r})")
    what = f"compressed image (format {format_!r}, {len(data)} bytes)"
    try:
        with warnings.catch_warnings():
            # the budget below decides, with the caller's limit; Pillow's own check would
            # otherwise warn on stderr between its limit and twice that
            warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)
            with PILImage.open(io.BytesIO(data)) as image:  # reads the header only
                if image.format not in _COMPRESSED_FORMATS:
                    raise ImageDecodeError(f"{what} is {image.format}, not JPEG or PNG")
                check_pixel_budget(image.width, image.height, max_pixels)
                rgb = np.asarray(image.convert(mode) if mode else image)
    except ImageDecodeError:
        raise
    except PILImage.DecompressionBombError:
        raise ImageDecodeError(f"{what} declares a frame beyond the pixel budget") from None
    except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError, ...
        raise ImageDecodeError(f"undecodable {what}: {exc}") from None
    return rgb


def read_image_file(
    path: str | os.PathLike, max_pixels: int = DEFAULT_MAX_PIXELS, mode: str | None = "RGB"
) -> np.ndarray:
    """A PNG or JPEG file, decoded as strictly as a camera frame (``decode_compressed``:
    header and pixel budget first, truncated or corrupt files refused)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImageDecodeError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        return decode_compressed(data, path.suffix.lstrip(".").lower(), max_pixels, mode)
    except ImageDecodeError as exc:
        raise ImageDecodeError(f"{path}: {exc}") from None


def check_image_file(path: str | os.PathLike, max_pixels: int = DEFAULT_MAX_PIXELS) -> None:
    """Raise ``OSError`` (one line, naming the file) unless ``path`` is a whole PNG or
    JPEG within ``max_pixels``: for readers that decode with OpenCV, which pads a
    truncated JPEG with grey and decodes any size."""
    try:
        read_image_file(path, max_pixels, mode=None)
    except ImageDecodeError as exc:
        raise OSError(str(exc)) from None


def encode_compressed(
    rgb: np.ndarray, image_format: str = "jpeg", quality: int = 90, subsample_chroma: bool = True
) -> bytes:
    """Encode (H, W, 3) RGB as JPEG or PNG bytes.

    ``subsample_chroma=False`` keeps JPEG colour at full resolution (4:4:4 instead of
    4:2:0): larger files, but thin coloured structures survive the round trip.
    """
    if image_format not in ("jpeg", "png"):
        raise ValueError(f"unsupported compressed format {image_format!r}")
    extension = ".jpg" if image_format == "jpeg" else ".png"
    params = []
    if image_format == "jpeg":
        params = [cv2.IMWRITE_JPEG_QUALITY, quality]
        if not subsample_chroma:
            params += [cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444]
    ok, buffer = cv2.imencode(extension, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), params)
    if not ok:
        raise ValueError(f"cannot encode image as {image_format}")
    return buffer.tobytes()


def image_msg_to_array(msg: Any) -> np.ndarray:
    """Pixels of an ``Image`` of any supported encoding (32FC1 too) in its own layout."""
    return decode_raw(raw_image_of(msg))


def image_msg_to_rgb(msg: Any, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """(H, W, 3) uint8 RGB from an rgb8/bgr8/rgba8/bgra8/mono8/mono16 ``Image``."""
    pixels = decode_raw(raw_image_of(msg), SUPPORTED_INPUT_ENCODINGS, max_pixels)
    return to_rgb(pixels, msg.encoding)


def compressed_msg_to_rgb(msg: Any, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """(H, W, 3) uint8 RGB from a JPEG/PNG ``CompressedImage``."""
    return decode_compressed(_shared_bytes(msg.data), msg.format, max_pixels)
