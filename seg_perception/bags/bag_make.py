"""Build a bag from an image sequence (a CamVid or DAVIS sequence), optionally with labels.

Frame ``i`` (images in file-name order) gets header stamp and bag timestamp
``start + i / rate``. Images go on ``/camera/image_raw`` (``sensor_msgs/Image``: rgb8,
bgr8, mono8) or ``/camera/image_raw/compressed`` (``CompressedImage``: jpeg, png); the
label image of the same stem, when a label folder is given, goes on ``/camera/labels``
(mono8 class ids, as stored in the file) with the same stamp. No ROS imports.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from ..data.camvid import read_rgb
from ..data.labelled_data import LabelledData
from ..image_codec import encode_compressed, encode_raw
from .bag_writer import BagWriter
from .image_messages import COMPRESSED_TYPE, IMAGE_TYPE, Stamp

__all__ = [
    "ENCODINGS",
    "IMAGE_TOPIC",
    "COMPRESSED_TOPIC",
    "LABEL_TOPIC",
    "MadeBag",
    "make_bag",
    "list_images",
]

ENCODINGS = ("rgb8", "bgr8", "mono8", "jpeg", "png")
COMPRESSED_ENCODINGS = ("jpeg", "png")
IMAGE_TOPIC = "/camera/image_raw"
COMPRESSED_TOPIC = f"{IMAGE_TOPIC}/compressed"
LABEL_TOPIC = "/camera/labels"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".tif", ".tiff")


@dataclass(frozen=True)
class MadeBag:
    """What ``make_bag`` wrote."""

    path: Path
    storage: str
    frames: int
    labelled_frames: int
    image_topic: str
    label_topic: str | None
    first_stamp: Stamp
    size_bytes: int


def list_images(folder: str | os.PathLike, limit: int | None = None) -> list[Path]:
    """Image files of ``folder`` in name order (the first ``limit`` of them)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder {folder} not found")
    images = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise FileNotFoundError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {folder}")
    return images[:limit]


def _label_path(labels: Path, image: Path) -> Path:
    for suffix in (".png", image.suffix):
        candidate = labels / f"{image.stem}{suffix}"
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"no label {image.stem}.png in {labels} for image {image.name}")


def _read_label_ids(path: Path) -> np.ndarray:
    """A single-channel 8-bit label image, ids kept as stored."""
    label = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if label is None:
        raise OSError(f"cannot read label {path}")
    if label.ndim != 2 or label.dtype != np.uint8:
        raise ValueError(
            f"label {path} is not a single-channel 8-bit class-id image "
            f"(shape {label.shape}, {label.dtype})"
        )
    return label


def _folder_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def make_bag(
    images: str | os.PathLike | None,
    out: str | os.PathLike,
    rate: float,
    *,
    encoding: str = "rgb8",
    labels: str | os.PathLike | None = None,
    frame_id: str = "camera",
    storage: str | None = None,
    jpeg_quality: int = 95,
    start_time: float | None = None,
    limit: int | None = None,
    compress: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    dataset: LabelledData | None = None,
    split: str = "test",
) -> MadeBag:
    """Write the images of ``images`` (and labels of ``labels``) as a bag at ``out``;
    or, with ``dataset`` (and ``images`` None), the frames of its ``split`` with their
    masks as training ids.

    Args:
        images: folder of image files, played in file-name order.
        out: ``*.mcap``, ``*.db3``, ``*.bag`` (ROS 1) or a rosbag2 folder name.
        rate: frames per second of the stamps.
        encoding: rgb8, bgr8, mono8 (raw) or jpeg, png (compressed).
        labels: folder with a single-channel ``<image stem>.png`` per image.
        frame_id: header frame id.
        storage: mcap, sqlite3 or ros1 (default: implied by ``out``, else mcap).
        jpeg_quality: JPEG quality; JPEG keeps full-resolution colour (4:4:4).
        start_time: stamp of the first frame in seconds since the epoch (default: now).
        limit: use only the first ``limit`` images.
        compress: zstd chunk compression (MCAP only).
        overwrite: replace an existing ``out``.
        progress: show a tqdm bar.
        dataset: a dataset (CamVid or a spec's) whose ``split`` is played.

    Raises:
        FileNotFoundError, OSError, ValueError: with a one-line reason; nothing is left
        at ``out`` then.
    """
    if encoding not in ENCODINGS:
        raise ValueError(f"unsupported encoding {encoding!r}; choose from {', '.join(ENCODINGS)}")
    if not rate > 0:
        raise ValueError(f"rate must be positive, got {rate}")
    if not 1 <= jpeg_quality <= 100:
        raise ValueError(f"JPEG quality must be in 1..100, got {jpeg_quality}")
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    if (images is None) == (dataset is None):
        raise ValueError("give an image folder or a dataset split, not both")
    label_folder = Path(labels) if labels is not None else None
    if dataset is not None:
        files = dataset.files(split)[:limit]
        if not files:
            raise ValueError(f"dataset {dataset.name}: split {split} has no frames")
        image_paths = [image for _, image, _ in files]
        masks = {image: mask for _, image, mask in files}

        def read_label(image: Path) -> tuple[Path, np.ndarray]:
            return masks[image], dataset.read_label(masks[image])

    else:
        image_paths = list_images(images, limit)
        if label_folder is not None and not label_folder.is_dir():
            raise FileNotFoundError(f"label folder {label_folder} not found")

        def read_label(image: Path) -> tuple[Path, np.ndarray]:
            path = _label_path(label_folder, image)
            return path, _read_label_ids(path)

    labelled = label_folder is not None or dataset is not None
    compressed = encoding in COMPRESSED_ENCODINGS
    image_topic = COMPRESSED_TOPIC if compressed else IMAGE_TOPIC
    start = Stamp.from_ns(round((time.time() if start_time is None else start_time) * 1e9))
    period_ns = 1e9 / rate

    with BagWriter(out, storage, compress=compress, overwrite=overwrite) as bag:
        bag.add_topic(image_topic, COMPRESSED_TYPE if compressed else IMAGE_TYPE)
        if labelled:
            bag.add_topic(LABEL_TOPIC, IMAGE_TYPE)
        for index, path in enumerate(
            tqdm(image_paths, desc="bag-make", unit="frame", disable=not progress)
        ):
            stamp = Stamp.from_ns(start.ns + round(index * period_ns))
            rgb = read_rgb(path)
            if compressed:
                data = encode_compressed(rgb, encoding, jpeg_quality, subsample_chroma=False)
                message = bag.compressed_image(stamp, frame_id, data, encoding)
            else:
                message = bag.image(stamp, frame_id, encode_raw(_convert(rgb, encoding), encoding))
            bag.write(image_topic, stamp.ns, message)
            if labelled:
                label_path, label = read_label(path)
                if label.shape != rgb.shape[:2]:
                    raise ValueError(
                        f"label {label_path.name} is {label.shape[1]}x{label.shape[0]} but "
                        f"image {path.name} is {rgb.shape[1]}x{rgb.shape[0]}"
                    )
                bag.write(
                    LABEL_TOPIC, stamp.ns, bag.image(stamp, frame_id, encode_raw(label, "mono8"))
                )
        storage_used = bag.storage
    return MadeBag(
        path=Path(out),
        storage=storage_used,
        frames=len(image_paths),
        labelled_frames=len(image_paths) if labelled else 0,
        image_topic=image_topic,
        label_topic=LABEL_TOPIC if labelled else None,
        first_stamp=start,
        size_bytes=_folder_size(Path(out)),
    )


def _convert(rgb: np.ndarray, encoding: str) -> np.ndarray:
    if encoding == "bgr8":
        return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    if encoding == "mono8":
        return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    return rgb
