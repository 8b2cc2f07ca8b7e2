"""Mask files of a dataset spec's format -> (H, W) uint8 training ids, 255 ignored.

``index``: class ids in a single-channel (or palette) PNG; ``color`` and ``cvat``: RGB
colours; ``cityscapes``: ``labelIds`` through the official table. Values the class
list does not know come back beside the labels (``DecodedMask.unknown``) so that
``dataset check`` can list them; ``MaskDecoder.read`` refuses them.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image as PILImage

from ..classes import IGNORE_INDEX
from ..image_codec import DEFAULT_MAX_PIXELS
from .cityscapes_labels import cityscapes_id_table
from .dataset_spec import DatasetSpec

__all__ = ["MaskDecoder", "DecodedMask", "MaskError"]

_UNKNOWN = 256  # marks values outside the class list while decoding
_COLOUR_MODES = ("color", "cvat")


class MaskError(OSError):
    """A mask that cannot be used; one line naming the file."""


@dataclass
class DecodedMask:
    labels: np.ndarray  # (H, W) uint8 training ids, IGNORE_INDEX for ignored or unknown
    unknown: list  # mask ids or (r, g, b) colours not in the class list, sorted


class MaskDecoder:
    """Decodes one spec's masks (class remap included)."""

    def __init__(self, spec: DatasetSpec):
        self.spec = spec
        training = spec.training_ids()
        if spec.format in _COLOUR_MODES:
            self._colours = {
                _pack(c.color): tid for c, tid in zip(spec.source_classes, training, strict=True)
            }
            self._colours.update({_pack(c): IGNORE_INDEX for c in spec.ignore_colors})
        else:
            self._table = np.full(65536, _UNKNOWN, dtype=np.int16)
            self._table[IGNORE_INDEX] = IGNORE_INDEX
            if spec.format == "cityscapes":  # labelIds -> trainIds -> the remap
                train_ids = cityscapes_id_table().astype(np.int64)
                remapped = np.asarray([*training, IGNORE_INDEX], dtype=np.int16)
                self._table[:256] = remapped[np.minimum(train_ids, len(training))]
            else:
                for source, tid in zip(spec.source_classes, training, strict=True):
                    self._table[source.id] = tid
                self._table[list(spec.ignore_ids)] = IGNORE_INDEX

    def decode(self, path: Path) -> DecodedMask:
        """The mask's training ids and the values the class list does not know.

        Raises:
            MaskError: unreadable, or the wrong kind of image for the format.
        """
        colour = self.spec.format in _COLOUR_MODES
        array, mode = _read(path, colour)
        if colour:
            if array.ndim != 3:
                raise MaskError(
                    f"{path}: a single-channel mask where {self.spec.format} (RGB colours) "
                    "was declared"
                )
            return self._decode_colours(array)
        if array.ndim != 2:
            raise MaskError(
                f"{path}: an RGB mask ({mode}) where {self.spec.format} (single-channel "
                "class ids) was declared: is the format color?"
            )
        beyond = np.zeros(array.shape, bool)
        if array.dtype not in (np.uint8, np.uint16):  # 32-bit PNGs: outside 0..65535 unknown
            beyond = (array < 0) | (array > 65535)
            outside = {int(v) for v in np.unique(array[beyond])}
            array = np.where(beyond, 0, array).astype(np.uint16)
        else:
            outside = set()
        ids = self._table[array]
        ids[beyond] = _UNKNOWN
        unknown_at = ids == _UNKNOWN
        inside = unknown_at & ~beyond
        unknown = sorted(outside | {int(v) for v in np.unique(array[inside])})
        ids[unknown_at] = IGNORE_INDEX
        return DecodedMask(ids.astype(np.uint8), unknown)

    def read(self, path: Path) -> np.ndarray:
        """The mask's training ids.

        Raises:
            MaskError: as ``decode``, or values not in the class list.
        """
        decoded = self.decode(path)
        if decoded.unknown:
            shown = ", ".join(str(v) for v in decoded.unknown[:5])
            more = f" and {len(decoded.unknown) - 5} more" if len(decoded.unknown) > 5 else ""
            what = "colours" if self.spec.format in _COLOUR_MODES else "ids"
            raise MaskError(f"{path}: {what} not in the class list: {shown}{more}")
        return decoded.labels

    def _decode_colours(self, rgb: np.ndarray) -> DecodedMask:
        keys = _pack_array(rgb)
        colours, inverse = np.unique(keys, return_inverse=True)
        mapped = np.asarray([self._colours.get(int(k), _UNKNOWN) for k in colours], dtype=np.int16)
        unknown = [_unpack(int(k)) for k, m in zip(colours, mapped, strict=True) if m == _UNKNOWN]
        mapped[mapped == _UNKNOWN] = IGNORE_INDEX
        return DecodedMask(mapped[inverse].reshape(keys.shape).astype(np.uint8), unknown)


def _read(path: Path, colour: bool) -> tuple[np.ndarray, str]:
    """The mask's pixels and PIL mode: a palette PNG as its indices (index formats) or
    its colours (colour formats); RGB images as (H, W, 3)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            with PILImage.open(path) as image:
                if image.width * image.height > DEFAULT_MAX_PIXELS:
                    raise MaskError(f"{path}: {image.width}x{image.height} is too large")
                image.load()
                mode = image.mode
                if mode in ("RGB", "RGBA", "LA", "CMYK", "YCbCr") or (mode == "P" and colour):
                    return np.asarray(image.convert("RGB")), mode
                if mode == "1":
                    return np.asarray(image, dtype=np.uint8), mode
                return np.asarray(image), mode
    except MaskError:
        raise
    except (OSError, SyntaxError, ValueError, PILImage.DecompressionBombWarning) as exc:
        raise MaskError(f"cannot read mask {path}: {exc}") from None


def _pack(color: tuple[int, int, int]) -> int:
    return (color[0] << 16) | (color[1] << 8) | color[2]


def _pack_array(rgb: np.ndarray) -> np.ndarray:
    rgb = rgb.astype(np.int32)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


def _unpack(key: int) -> tuple[int, int, int]:
    return ((key >> 16) & 255, (key >> 8) & 255, key & 255)
