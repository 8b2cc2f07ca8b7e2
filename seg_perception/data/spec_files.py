"""The frames of a dataset spec's split: ``(stem, image, mask)`` per frame, in order.

A path that matches no file comes back as the path it was expected at (``exists()``
tells), so ``dataset check`` can name it; the loaders refuse it.
"""

from __future__ import annotations

import glob
import math
from pathlib import Path

from .dataset_spec import DatasetSpec, SplitSpec

__all__ = ["SplitFile", "split_frames", "IMAGE_SUFFIXES"]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
SplitFile = tuple[str, Path, Path]


def split_frames(spec: DatasetSpec, split: str, apply_range: bool = True) -> list[SplitFile]:
    """Every frame of ``split`` (its ``range`` applied unless ``apply_range`` is False).

    Raises:
        ValueError: an unknown split, or a list file that is missing or has a bad line.
    """
    if split not in spec.splits:
        raise ValueError(
            f"dataset {spec.name} has no split {split!r} (it has {', '.join(spec.splits)})"
        )
    entry = spec.splits[split]
    frames = _listed(spec.root, entry) if entry.list_file else _globbed(spec.root, entry)
    if not apply_range:
        return frames
    start, stop = entry.range
    return frames[math.floor(start * len(frames)) : math.floor(stop * len(frames))]


def _globbed(root: Path, entry: SplitSpec) -> list[SplitFile]:
    images = sorted(Path(p) for p in glob.glob(str(root / entry.images), recursive=True))
    images = [p for p in images if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()]
    return [(_stem(p, entry), p, _mask_path(root, entry, p)) for p in images]


def _stem(image: Path, entry: SplitSpec) -> str:
    stem = image.stem
    return stem[: -len(entry.strip)] if entry.strip and stem.endswith(entry.strip) else stem


def _mask_path(root: Path, entry: SplitSpec, image: Path) -> Path:
    assert entry.masks is not None
    return _resolve(root, entry.masks.format(stem=_stem(image, entry), parent=image.parent.name))


def _resolve(root: Path, relative: str) -> Path:
    """``root/relative``; a glob in it resolves to its first match (sorted)."""
    path = root / relative
    if glob.has_magic(relative):
        matches = sorted(Path(p) for p in glob.glob(str(path)) if Path(p).is_file())
        return matches[0] if matches else path
    return path


def _listed(root: Path, entry: SplitSpec) -> list[SplitFile]:
    assert entry.list_file is not None
    list_path = root / entry.list_file
    if not list_path.is_file():
        raise ValueError(f"split {entry.name}: list file {list_path} not found")
    frames = []
    for number, line in enumerate(list_path.read_text().splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) == 2:
            image, mask = (_locate(root, text) for text in fields)
            frames.append((_stem(image, entry), image, mask))
        elif len(fields) == 1 and entry.images is not None:
            stem = Path(fields[0]).stem if "/" in fields[0] else fields[0]
            image = _resolve(root, entry.images.format(stem=stem))
            assert entry.masks is not None  # the spec requires masks with images
            mask = _resolve(root, entry.masks.format(stem=stem, parent=image.parent.name))
            frames.append((stem, image, mask))
        else:
            raise ValueError(
                f"{list_path}:{number}: {line.strip()!r} is neither a stem nor 'image mask'"
                + ("" if entry.images else " (no images template for bare stems)")
            )
    return frames


def _locate(root: Path, text: str) -> Path:
    """A list line's path: as written (absolute, or under the root), else its last one or
    two components under the root (SegNet's ``/SegNet/CamVid/train/x.png`` lines), with
    any image suffix (a release re-encoded to JPEG keeps its PNG lists)."""
    written = Path(text)
    parts = written.parts
    candidates = [written] if written.is_absolute() else [root / written]
    candidates += [root.joinpath(*parts[-2:]), root / parts[-1]]
    for candidate in candidates:
        for suffix in (candidate.suffix, *IMAGE_SUFFIXES):
            path = candidate.with_suffix(suffix)
            if path.is_file():
                return path
    return candidates[0]
