"""Frames of a bag's image topic as image files, for a labelling tool (CVAT and the like).

Each kept frame is decoded as the node decodes it (``message_to_rgb``: every raw
encoding it takes, JPEG and PNG ``CompressedImage``) and written atomically as
``<sec>_<nanosec>.png`` (lossless) or ``.jpg``, named by its header stamp so that
files match the stamps of ``bag-eval`` and of label topics. ``every`` thins the
frames by header stamp. A frame that fails to decode is skipped and counted; an
unusable bag or topic is an error. No ROS imports.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..image_codec import encode_compressed
from ..io_utils import atomic_write
from .bag_reader import BagReader, the_image_topic
from .image_messages import (
    FRAME_ERRORS,
    IMAGE_TYPES,
    BagError,
    Stamp,
    frame_name,
    message_to_rgb,
)

__all__ = ["FORMATS", "Extraction", "extract_frames", "frame_name"]

FORMATS = {"png": "png", "jpg": "jpeg"}  # file suffix: compressed format
MAX_REASONS = 5


@dataclass(frozen=True)
class Extraction:
    """What ``extract_frames`` did: counts of the topic's messages and the output folder."""

    out: Path
    topic: str
    read: int
    written: int
    thinned: int  # skipped by ``every``
    duplicates: int  # a stamp already written
    undecodable: int
    reasons: tuple[str, ...]  # why frames were undecodable (the first distinct ones)


def extract_frames(
    bag: BagReader,
    out: str | os.PathLike,
    topic: str | None = None,
    *,
    every: float = 1.0,
    suffix: str = "png",
    jpeg_quality: int = 95,
    progress: bool = True,
) -> Extraction:
    """Write the frames of ``topic`` to the folder ``out`` (created with its first frame).

    Args:
        bag: an open bag.
        out: output folder; files of the same name are replaced.
        topic: ``Image`` or ``CompressedImage`` topic (default: the bag's only one).
        every: keep a frame only when its stamp is at least this many seconds from the
            last kept one (the first frame always); 0 keeps every frame.
        suffix: ``png`` or ``jpg``.
        jpeg_quality: JPEG quality (full-resolution colour).
        progress: show a tqdm bar.

    Raises:
        FileNotFoundError, BagError, ValueError, OSError: with a one-line reason.
    """
    if not (math.isfinite(every) and every >= 0):
        raise ValueError(f"every must be 0 or more seconds, got {every}")
    if suffix not in FORMATS:
        raise ValueError(f"unsupported format {suffix!r}; choose from {', '.join(FORMATS)}")
    if not 1 <= jpeg_quality <= 100:
        raise ValueError(f"JPEG quality must be in 1..100, got {jpeg_quality}")
    topic = topic or the_image_topic(bag, option="--topic")
    bag.topic_type(topic, IMAGE_TYPES)
    out = Path(out).expanduser()
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"output {out} is not a folder")
    total = bag.count(topic)
    if total == 0:
        raise BagError(f"topic {topic} of bag {bag.path} has no messages")

    every_ns = round(every * 1e9)
    written: set[Stamp] = set()
    last_kept: Stamp | None = None
    read = thinned = duplicates = 0
    undecodable: list[str] = []
    with tqdm(total=total, desc="bag-extract", unit="frame", disable=not progress) as bar:
        for message in bag.messages([topic]):
            bar.update()
            read += 1
            try:
                msg = bag.deserialize(message)
            except FRAME_ERRORS as exc:
                undecodable.append(str(exc))
                continue
            stamp = Stamp.of(msg)
            if stamp.ns == 0:  # a driver that does not stamp: the bag's receive time
                stamp = Stamp.from_ns(message.timestamp)
            if stamp in written:
                duplicates += 1
                continue
            # abs: a stamp jumping back (a restarted clock) is thinned like one going forward
            if last_kept is not None and abs(stamp.ns - last_kept.ns) < every_ns:
                thinned += 1
                continue
            try:
                rgb = message_to_rgb(msg, message.msgtype)
            except FRAME_ERRORS as exc:
                undecodable.append(str(exc))
                continue
            _write_image(out / frame_name(stamp, suffix), rgb, FORMATS[suffix], jpeg_quality)
            written.add(stamp)
            last_kept = stamp
    if not written:
        first = undecodable[0] if undecodable else "none"
        raise BagError(
            f"no frame of {topic} could be extracted ({read} read, {len(undecodable)} "
            f"undecodable; first: {first})"
        )
    return Extraction(
        out=out,
        topic=topic,
        read=read,
        written=len(written),
        thinned=thinned,
        duplicates=duplicates,
        undecodable=len(undecodable),
        reasons=tuple(dict.fromkeys(undecodable))[:MAX_REASONS],
    )


def _write_image(path: Path, rgb: np.ndarray, image_format: str, jpeg_quality: int) -> None:
    data = encode_compressed(rgb, image_format, jpeg_quality, subsample_chroma=False)
    with atomic_write(path) as tmp:
        tmp.write_bytes(data)
