"""DAVIS 2016 (480p) from ``<root>/davis2016/{JPEGImages,Annotations}/480p/<sequence>/``.

Public download: https://davischallenge.org/davis2016/code.html (``DAVIS-data.zip``:
50 sequences at 854x480, one binary object mask per frame; 0 background, 255 object).
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..image_codec import check_image_file
from .camvid import read_rgb

__all__ = [
    "DavisSequence",
    "check_sequence_names",
    "davis_sequences",
    "load_sequence",
    "read_mask",
]


def _davis_folder(data_root: str | os.PathLike) -> Path:
    folder = Path(data_root) / "davis2016"
    if not (folder / "JPEGImages" / "480p").is_dir():
        raise FileNotFoundError(
            f"{folder}/JPEGImages/480p not found: is {data_root} a data root with davis2016/?"
        )
    return folder


def davis_sequences(data_root: str | os.PathLike) -> list[str]:
    """Names of the sequences present, sorted."""
    frames = _davis_folder(data_root) / "JPEGImages" / "480p"
    return sorted(p.name for p in frames.iterdir() if p.is_dir())


def check_sequence_names(data_root: str | os.PathLike, names: list[str] | None) -> list[str]:
    """``names`` (all sequences when empty), each checked to exist.

    Raises:
        ValueError: an unknown name, with the closest existing one as a hint.
    """
    available = davis_sequences(data_root)
    unknown = [name for name in names or () if name not in available]
    if unknown:
        hints = [difflib.get_close_matches(name, available, n=1) for name in unknown]
        named = ", ".join(
            name + (f" (did you mean {hint[0]}?)" if hint else "")
            for name, hint in zip(unknown, hints, strict=True)
        )
        raise ValueError(f"unknown DAVIS sequence {named}; {data_root} has {len(available)}")
    return list(names) if names else available


def read_mask(path: str | os.PathLike) -> np.ndarray:
    """(H, W) bool object mask from a DAVIS annotation PNG."""
    check_image_file(path)
    mask = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if mask is None:
        raise OSError(f"cannot read mask {path}")
    return mask > 127


@dataclass(frozen=True)
class DavisSequence:
    """Frame and mask paths of one sequence, in order."""

    name: str
    frame_paths: tuple[Path, ...]
    mask_paths: tuple[Path, ...]

    def __len__(self) -> int:
        return len(self.frame_paths)

    def frame(self, index: int) -> np.ndarray:
        """(H, W, 3) uint8 RGB."""
        return read_rgb(self.frame_paths[index])

    def mask(self, index: int) -> np.ndarray:
        return read_mask(self.mask_paths[index])


def load_sequence(data_root: str | os.PathLike, name: str) -> DavisSequence:
    """One sequence; every frame must have its annotation."""
    folder = _davis_folder(data_root)
    frame_dir = folder / "JPEGImages" / "480p" / name
    if not frame_dir.is_dir():
        raise FileNotFoundError(f"DAVIS sequence {name!r} not found in {folder}")
    frames = tuple(sorted(frame_dir.glob("*.jpg")))
    masks = tuple(folder / "Annotations" / "480p" / name / f"{p.stem}.png" for p in frames)
    missing = [p.name for p in masks if not p.is_file()]
    if missing:
        raise FileNotFoundError(
            f"DAVIS {name}: {len(missing)} frames lack masks, e.g. {missing[0]}"
        )
    return DavisSequence(name, frames, masks)
