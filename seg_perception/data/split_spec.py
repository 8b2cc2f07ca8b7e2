"""A dataset spec's ``splits``: how each split lists its frames and finds their masks,
with the defaults of the ``cvat`` and ``cityscapes`` layouts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .spec_fields import Fail, as_mapping, no_unknown_keys

__all__ = ["SplitSpec", "parse_splits"]

_SPLIT_KEYS = ("images", "masks", "list", "range", "strip")


@dataclass(frozen=True)
class SplitSpec:
    """How one split lists its frames and how each frame finds its mask.

    ``images``: a glob under the root (without ``list``) or a template with ``{stem}``
    (with ``list``); ``masks``: a template with ``{stem}`` (the image's name without
    extension, less ``strip``) and ``{parent}`` (the image's folder name); ``list``: a
    file of stems or ``image mask`` lines; ``range``: the slice of the split, as
    fractions of its sorted frames.
    """

    name: str
    images: str | None = None
    masks: str | None = None
    list_file: str | None = None
    range: tuple[float, float] = (0.0, 1.0)
    strip: str = ""


def _range(value: Any, key: str, fail: Fail) -> tuple[float, float]:
    if (
        not isinstance(value, list | tuple)
        or len(value) != 2
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        or not 0.0 <= value[0] < value[1] <= 1.0
    ):
        raise fail(key, f"{value!r} is not [start, stop] fractions with 0 <= start < stop <= 1")
    return (float(value[0]), float(value[1]))


def _format_defaults(mask_format: str, split: str) -> dict[str, str]:
    if mask_format == "cvat":
        return {
            "list": f"ImageSets/Segmentation/{split}.txt",
            "images": "JPEGImages/{stem}.*",
            "masks": "SegmentationClass/{stem}.png",
        }
    if mask_format == "cityscapes":
        return {
            "images": f"leftImg8bit/{split}/*/*_leftImg8bit.png",
            "masks": f"gtFine/{split}/{{parent}}/{{stem}}_gtFine_labelIds.png",
            "strip": "_leftImg8bit",
        }
    return {}


# CVAT's subset names (a project's "Train", "Validation", "Test") as split names
_CVAT_SUBSETS = {"train": "train", "training": "train", "validation": "val", "val": "val"}


def _default_splits(mask_format: str, root: Path) -> dict[str, dict]:
    """The splits of a layout that has them: CVAT's subset lists, Cityscapes' folders."""
    if mask_format == "cvat":
        lists = sorted((root / "ImageSets" / "Segmentation").glob("*.txt"))
        return {
            _CVAT_SUBSETS.get(p.stem.lower(), p.stem.lower()): {
                "list": f"ImageSets/Segmentation/{p.name}"
            }
            for p in lists
        }
    if mask_format == "cityscapes":
        names = [s for s in ("train", "val", "test") if (root / "leftImg8bit" / s).is_dir()]
        return {name: {} for name in names}
    return {}


def parse_splits(value: Any, mask_format: str, root: Path, fail: Fail) -> dict[str, SplitSpec]:
    """The ``splits`` mapping (or the layout's defaults when absent), checked."""
    if value is None:
        value = _default_splits(mask_format, root)
        if not value:
            raise fail("splits", "missing: at least a train split")
    splits = {}
    for name, entry in as_mapping(value, "splits", fail).items():
        key = f"splits.{name}"
        entry = {} if entry is None else as_mapping(entry, key, fail)
        no_unknown_keys(entry, _SPLIT_KEYS, f"{key}.", fail)
        merged = {**_format_defaults(mask_format, str(name)), **entry}
        list_file = merged.get("list")
        images, masks = merged.get("images"), merged.get("masks")
        if list_file is None and images is None:
            raise fail(key, "needs images (a glob) or list (a file of frames)")
        if images is not None:
            if list_file is None and "{" in images:
                raise fail(f"{key}.images", "without list, a glob (no {stem})")
            if list_file is not None and "{stem}" not in images:
                raise fail(f"{key}.images", "with list, a template with {stem}")
            if masks is None:
                raise fail(f"{key}.masks", "missing: a template such as masks/{stem}.png")
        if masks is not None:
            try:
                masks.format(stem="x", parent="x")
            except (KeyError, IndexError, ValueError) as exc:
                reason = f"unknown placeholder {exc}: use {{stem}} and {{parent}}"
                raise fail(f"{key}.masks", reason) from None
        splits[str(name)] = SplitSpec(
            name=str(name),
            images=images,
            masks=masks,
            list_file=list_file,
            range=_range(merged.get("range", [0.0, 1.0]), f"{key}.range", fail),
            strip=str(merged.get("strip", "")),
        )
    if not splits:
        raise fail("splits", "empty: at least a train split")
    return splits
