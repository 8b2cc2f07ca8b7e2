"""The frames of a dataset spec's split: ``(stem, image, mask)`` per frame, in order.

A path that matches no file comes back as the path it was expected at (``exists()``
tells), so ``dataset check`` can name it; the loaders refuse it.
"""

from __future__ import annotations

import glob
import math
import re
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
    pattern = str(Path(glob.escape(str(root))) / entry.images)
    images = sorted(Path(p) for p in glob.glob(pattern, recursive=True))
    images = [p for p in images if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()]
    return [(_stem(p, entry), p, _mask_path(root, entry, p)) for p in images]


def _stem(image: Path, entry: SplitSpec) -> str:
    stem = image.stem
    return stem[: -len(entry.strip)] if entry.strip and stem.endswith(entry.strip) else stem


def _mask_path(root: Path, entry: SplitSpec, image: Path) -> Path:
    assert entry.masks is not None
    stem, parent = glob.escape(_stem(image, entry)), glob.escape(image.parent.name)
    return _resolve(root, entry.masks.format(stem=stem, parent=parent))


def _resolve(root: Path, relative: str) -> Path:
    """``root/relative``; a glob in it resolves to its first match (sorted)."""
    if glob.has_magic(relative):
        pattern = str(Path(glob.escape(str(root))) / relative)
        matches = sorted(Path(p) for p in glob.glob(pattern) if Path(p).is_file())
        return matches[0] if matches else root / _unescape(relative)
    return root / _unescape(relative)


def _unescape(text: str) -> str:
    """``glob.escape``'s ``[*]`` back to ``*`` (for a path that is not a pattern)."""
    return re.sub(r"\[([*?\[])\]", r"\1", text)


def _listed(root: Path, entry: SplitSpec) -> list[SplitFile]:
    assert entry.list_file is not None
    list_path = root / entry.list_file
    if not list_path.is_file():
        raise ValueError(f"split {entry.name}: list file {list_path} not found")
    frames = []
    for number, line in enumerate(list_path.read_text().splitlines(), start=1):
        text = line.strip()
        fields = text.split()
        if not fields:
            continue
        if len(fields) == 2:
            image, mask = (_locate(root, field) for field in fields)
            if image.is_file() or entry.images is None:
                frames.append((_stem(image, entry), image, mask))
                continue
        if entry.images is None:
            raise ValueError(
                f"{list_path}:{number}: {text!r} is not 'image mask' (and the split has no "
                "images template for stems)"
            )
        stem = _list_stem(text)  # a whole line: CVAT's ids may hold spaces
        image = _resolve(root, entry.images.format(stem=glob.escape(stem)))
        assert entry.masks is not None  # the spec requires masks with images
        parent = glob.escape(image.parent.name)
        mask = _resolve(root, entry.masks.format(stem=glob.escape(stem), parent=parent))
        frames.append((stem, image, mask))
    return frames


def _list_stem(text: str) -> str:
    """A list line's frame id: a stem, or a path under the root (CVAT keeps a task's
    folders: ``dir/frame``) less any image suffix; an absolute path's file name."""
    path = Path(text)
    if path.is_absolute():
        return path.stem
    return str(path.with_suffix("")) if path.suffix.lower() in IMAGE_SUFFIXES else text


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
