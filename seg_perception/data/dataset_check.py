"""``dataset check``: what a dataset spec holds and every problem in it, one line each.

Errors stop training (a missing mask, sizes that differ, ids or colours not in the
class list, the wrong kind of mask, an empty or missing train/val split); warnings do
not (a class with no pixels in train, a frame in two splits).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..image_codec import ImageDecodeError, read_image_file
from .dataset_spec import DatasetSpec
from .mask_decoding import MaskDecoder, MaskError
from .spec_files import split_frames

__all__ = ["CheckReport", "SplitSummary", "check_dataset", "REQUIRED_SPLITS"]

REQUIRED_SPLITS = ("train", "val")  # training selects its best epoch on val


@dataclass
class SplitSummary:
    name: str
    frames: int
    listed: int  # before the split's range
    class_pixels: np.ndarray  # labelled pixels per training id
    sizes: Counter = field(default_factory=Counter)  # (width, height) -> frames
    ignored_pixels: int = 0


@dataclass
class CheckReport:
    dataset: str
    class_names: tuple[str, ...]
    splits: list[SplitSummary] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict:
        return {
            "dataset": self.dataset,
            "classes": list(self.class_names),
            "splits": {
                s.name: {
                    "frames": s.frames,
                    "sizes": {f"{w}x{h}": n for (w, h), n in sorted(s.sizes.items())},
                    "class_pixels": dict(
                        zip(self.class_names, map(int, s.class_pixels), strict=True)
                    ),
                    "ignored_pixels": s.ignored_pixels,
                }
                for s in self.splits
            },
            "errors": self.errors,
            "warnings": self.warnings,
        }


def check_dataset(
    spec: DatasetSpec, progress: bool = True, splits: tuple[str, ...] | None = None
) -> CheckReport:
    """Read every frame's header and every mask of every split (or of ``splits``, those
    a training reads); list what is wrong."""
    classes = spec.classes
    report = CheckReport(spec.name, classes.names)
    decoder = MaskDecoder(spec)
    seen: dict[Path, str] = {}
    for required in REQUIRED_SPLITS:
        if required not in spec.splits:
            report.errors.append(f"no {required} split (splits: {', '.join(spec.splits)})")
    for split in spec.splits:
        if splits is not None and split not in splits:
            continue
        try:
            listed = len(split_frames(spec, split, apply_range=False))
            frames = split_frames(spec, split)
        except ValueError as exc:
            report.errors.append(str(exc))
            continue
        summary = SplitSummary(
            split, len(frames), listed, class_pixels=np.zeros(len(classes.names), np.int64)
        )
        report.splits.append(summary)
        if not frames:
            start, stop = spec.splits[split].range
            report.errors.append(
                f"split {split}: no frames ({listed} listed, range [{start}, {stop}] keeps none)"
                if listed
                else f"split {split}: no frames found ({_where(spec, split)})"
            )
        for _, image, mask in tqdm(frames, desc=f"check {split}", disable=not progress):
            if image in seen:
                report.warnings.append(f"{image}: in both {seen[image]} and {split}")
            seen[image] = split
            _check_frame(decoder, image, mask, summary, report)
    _class_warnings(report)
    return report


def _where(spec: DatasetSpec, split: str) -> str:
    entry = spec.splits[split]
    if entry.list_file:
        return f"list {spec.root / entry.list_file}"
    return f"images {spec.root / str(entry.images)}"


def _check_frame(
    decoder: MaskDecoder, image: Path, mask: Path, summary: SplitSummary, report: CheckReport
) -> None:
    if not image.is_file():
        report.errors.append(f"{image}: image not found")
        return
    if not mask.is_file():
        report.errors.append(f"{image}: no mask (expected {mask})")
        return
    try:  # decoded once, as strictly as the loaders read it (truncated files refused)
        height, width = read_image_file(image, mode=None).shape[:2]
    except ImageDecodeError as exc:
        report.errors.append(str(exc).splitlines()[0])
        return
    size = (width, height)
    summary.sizes[size] += 1
    try:
        decoded = decoder.decode(mask)
    except MaskError as exc:
        report.errors.append(str(exc))
        return
    height, width = decoded.labels.shape
    if (width, height) != size:
        report.errors.append(f"{mask}: {width}x{height}, its image is {size[0]}x{size[1]}")
        return
    if decoded.unknown:
        what = "colours" if isinstance(decoded.unknown[0], tuple) else "ids"
        shown = ", ".join(str(list(v) if isinstance(v, tuple) else v) for v in decoded.unknown[:5])
        more = f" and {len(decoded.unknown) - 5} more" if len(decoded.unknown) > 5 else ""
        report.errors.append(f"{mask}: {what} not in the class list: {shown}{more}")
    counts = np.bincount(decoded.labels.ravel(), minlength=256)
    summary.class_pixels += counts[: len(summary.class_pixels)]
    summary.ignored_pixels += int(counts[255])


def _class_warnings(report: CheckReport) -> None:
    for summary in report.splits:
        if summary.name != "train" or not summary.frames:
            continue
        for name, pixels in zip(report.class_names, summary.class_pixels, strict=True):
            if pixels == 0:
                report.warnings.append(f"class {name} has no pixels in train")
