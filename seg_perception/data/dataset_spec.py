"""A dataset described by a YAML file: where its frames and masks are, its classes, the
mask format, and an optional class remap (docs/datasets.md).

```yaml
root: ${SEG_PERCEPTION_DATA}/camvid   # relative paths: to this file's folder
format: index                         # index | color | cvat | cityscapes
classes:                              # id: the mask value (index); colour: the mask colour (color)
  - {name: Sky, color: [128, 128, 128], id: 0}
ignore: [11]                          # mask ids (index) or colours (color) not trained or scored
splits:
  train: {list: train.txt, images: "train/{stem}.*", masks: "trainannot/{stem}.png"}
remap: {Pavement: Road, Fence: ignore} # optional: merge or drop classes
```

``base: other.yaml`` starts from that spec's keys (``camvid_coarse.yaml``).

Every error is one line naming the file and the key (``DatasetSpecError``).
"""

from __future__ import annotations

import os
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..classes import ClassSet
from ..io_utils import read_config_mapping
from .cityscapes_labels import CITYSCAPES
from .cvat_labelmap import read_labelmap
from .spec_fields import as_mapping, no_unknown_keys
from .split_spec import SplitSpec, parse_splits

__all__ = [
    "DatasetSpec",
    "DatasetSpecError",
    "SourceClass",
    "SplitSpec",
    "FORMATS",
    "IGNORE",
    "load_dataset_spec",
]

FORMATS = ("index", "color", "cvat", "cityscapes")
IGNORE = "ignore"  # a remap target: the class's pixels are not trained or scored
_SPEC_KEYS = ("name", "root", "format", "classes", "ignore", "splits", "remap", "remap_colors")
_CLASS_KEYS = ("name", "color", "id")
DATA_ROOT_VARIABLE = "SEG_PERCEPTION_DATA"


class DatasetSpecError(ValueError):
    """A malformed dataset spec; the message is one line naming the key."""


@dataclass(frozen=True)
class SourceClass:
    """A class as the masks store it: its mask id (index formats) and colour."""

    name: str
    color: tuple[int, int, int]
    id: int


@dataclass(frozen=True)
class DatasetSpec:
    """A parsed, validated dataset spec (``load_dataset_spec``)."""

    name: str
    root: Path
    format: str
    source_classes: tuple[SourceClass, ...]
    splits: dict[str, SplitSpec]
    ignore_ids: tuple[int, ...] = ()
    ignore_colors: tuple[tuple[int, int, int], ...] = ()
    remap: dict[str, str] = field(default_factory=dict)
    remap_colors: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    path: Path | None = None

    @property
    def classes(self) -> ClassSet:
        """The classes trained and predicted (after ``remap``), in training-id order."""
        names: list[str] = []
        colors: dict[str, tuple[int, int, int]] = {}
        own = {source.name: source.color for source in self.source_classes}
        for source in self.source_classes:
            target = self.remap.get(source.name, source.name)
            if target == IGNORE or target in colors:
                continue
            names.append(target)
            # a merged class: remap_colors, else its own colour if it is a class, else
            # its first member's
            colors[target] = self.remap_colors.get(target, own.get(target, source.color))
        return ClassSet(tuple(names), tuple(colors[name] for name in names))

    def training_ids(self) -> list[int]:
        """Each source class's training id (255: ignored), in ``source_classes`` order."""
        names = self.classes.names
        targets = [self.remap.get(s.name, s.name) for s in self.source_classes]
        return [255 if target == IGNORE else names.index(target) for target in targets]


def load_dataset_spec(path: str | os.PathLike, data_root: str | None = None) -> DatasetSpec:
    """Read and validate a dataset spec. ``${SEG_PERCEPTION_DATA}`` in ``root`` is
    ``data_root`` when given, else the environment's.

    Raises:
        DatasetSpecError: one line naming the file and the key at fault.
    """
    spec_path = Path(path).expanduser()
    if not spec_path.is_file():
        raise DatasetSpecError(f"dataset spec {spec_path} not found")
    try:
        document = read_config_mapping(spec_path)  # a base: spec's keys under this one's
    except (OSError, ValueError) as exc:
        raise DatasetSpecError(str(exc).splitlines()[0]) from None
    return parse_dataset_spec(document, spec_path, data_root)


def parse_dataset_spec(
    document: Any, spec_path: Path, data_root: str | None = None
) -> DatasetSpec:
    """``load_dataset_spec`` on an already-read YAML document."""

    def fail(key: str, reason: str) -> DatasetSpecError:
        return DatasetSpecError(f"{spec_path}: {key}: {reason}")

    if not isinstance(document, dict):
        raise DatasetSpecError(f"{spec_path}: a dataset spec is a mapping of keys")
    no_unknown_keys(document, _SPEC_KEYS, "", fail)
    mask_format = document.get("format", "index")
    if mask_format not in FORMATS:
        raise fail("format", f"{mask_format!r} is not one of {', '.join(FORMATS)}")
    root = _root(document, spec_path, data_root, fail)
    source_classes = _source_classes(document, mask_format, root, fail)
    ignore_ids, ignore_colors = _ignore(document.get("ignore", []), mask_format, fail)
    splits = parse_splits(document.get("splits"), mask_format, root, fail)
    remap = _remap(document.get("remap", {}), source_classes, fail)
    remap_colors = {
        str(name): _color(value, f"remap_colors.{name}", fail)
        for name, value in as_mapping(
            document.get("remap_colors", {}), "remap_colors", fail
        ).items()
    }
    spec = DatasetSpec(
        name=str(document.get("name", spec_path.stem)),
        root=root,
        format=mask_format,
        source_classes=source_classes,
        splits=splits,
        ignore_ids=ignore_ids,
        ignore_colors=ignore_colors,
        remap=remap,
        remap_colors=remap_colors,
        path=spec_path,
    )
    unknown_colors = set(remap_colors) - set(spec.classes.names)
    if unknown_colors:
        raise fail("remap_colors", f"{sorted(unknown_colors)} are not classes after the remap")
    if not spec.classes.names:
        raise fail("remap", "every class is ignored")
    return spec


def _root(document: dict, spec_path: Path, data_root: str | None, fail) -> Path:
    if "root" not in document:
        raise fail("root", "missing: the folder holding the images and masks")
    variables = dict(os.environ)
    if data_root:
        variables[DATA_ROOT_VARIABLE] = str(data_root)
    text = str(document["root"])
    try:
        expanded = string.Template(text).substitute(variables)
    except (KeyError, ValueError) as exc:
        hint = (
            f" (pass --data-root or set {DATA_ROOT_VARIABLE})"
            if DATA_ROOT_VARIABLE in str(exc)
            else ""
        )
        raise fail("root", f"{text}: variable {exc} is not set{hint}") from None
    root = Path(expanded).expanduser()
    if not root.is_absolute():
        root = spec_path.parent / root
    if not root.is_dir():
        raise fail("root", f"folder {root} not found")
    return root


def _color(value: Any, key: str, fail) -> tuple[int, int, int]:
    if (
        not isinstance(value, list | tuple)
        or len(value) != 3
        or not all(isinstance(c, int) and not isinstance(c, bool) and 0 <= c <= 255 for c in value)
    ):
        raise fail(key, f"{value!r} is not an RGB colour [r, g, b] in 0..255")
    return (int(value[0]), int(value[1]), int(value[2]))


def _source_classes(document: dict, mask_format: str, root: Path, fail) -> tuple[SourceClass, ...]:
    if mask_format == "cityscapes":
        if "classes" in document:
            raise fail("classes", "cityscapes has its 19 classes: use remap to change them")
        pairs = zip(CITYSCAPES.names, CITYSCAPES.colors, strict=True)
        return tuple(SourceClass(name, color, i) for i, (name, color) in enumerate(pairs))
    if mask_format == "cvat" and "classes" not in document:
        labelmap = root / "labelmap.txt"
        try:
            pairs = read_labelmap(labelmap)
        except (OSError, ValueError) as exc:
            raise fail("classes", f"none given and {exc}") from None
        seen: dict[tuple[int, int, int], str] = {}
        for name, color in pairs:
            if color in seen:
                raise fail(
                    "classes", f"{labelmap}: {name} has {seen[color]}'s colour {list(color)}"
                )
            seen[color] = name
        return tuple(SourceClass(name, color, index) for index, (name, color) in enumerate(pairs))
    entries = document.get("classes")
    if not isinstance(entries, list) or not entries:
        raise fail("classes", "missing: a list of {name, color[, id]}")
    classes, seen_ids, seen_colors = [], {}, {}
    for position, entry in enumerate(entries):
        key = f"classes[{position}]"
        if not isinstance(entry, dict):
            raise fail(key, "must be a mapping {name, color[, id]}")
        no_unknown_keys(entry, _CLASS_KEYS, f"{key}.", fail)
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            raise fail(f"{key}.name", "missing or empty")
        if name == IGNORE:
            raise fail(f"{key}.name", f"{IGNORE!r} is reserved for remap")
        if any(c.name == name for c in classes):
            raise fail(f"{key}.name", f"duplicate class {name!r}")
        color = _color(entry.get("color"), f"{key}.color", fail)
        class_id = entry.get("id", position)
        if (
            not isinstance(class_id, int)
            or isinstance(class_id, bool)
            or not 0 <= class_id <= 65535
            or class_id == 255
        ):
            raise fail(f"{key}.id", f"{class_id!r} is not a mask id in 0..65535 but 255 (ignored)")
        if mask_format == "index" and class_id in seen_ids:
            raise fail(f"{key}.id", f"id {class_id} is also {seen_ids[class_id]!r}")
        if mask_format in ("color", "cvat") and color in seen_colors:
            raise fail(f"{key}.color", f"{list(color)} is also {seen_colors[color]!r}")
        seen_ids[class_id], seen_colors[color] = name, name
        classes.append(SourceClass(name, color, class_id))
    return tuple(classes)


def _ignore(value: Any, mask_format: str, fail) -> tuple[tuple[int, ...], tuple]:
    if mask_format == "cityscapes" and value:
        raise fail("ignore", "cityscapes ignores its void labels itself: drop classes with remap")
    if not isinstance(value, list):
        raise fail("ignore", "must be a list of mask ids or [r, g, b] colours")
    if mask_format in ("color", "cvat"):
        return (), tuple(_color(v, f"ignore[{i}]", fail) for i, v in enumerate(value))
    ids = []
    for i, v in enumerate(value):
        if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= 65535:
            raise fail(f"ignore[{i}]", f"{v!r} is not a mask id")
        ids.append(v)
    return tuple(ids), ()


def _remap(value: Any, source_classes: tuple[SourceClass, ...], fail) -> dict[str, str]:
    remap = as_mapping(value, "remap", fail)
    names = {c.name for c in source_classes}
    folded = {name.casefold(): name for name in names}
    result = {}
    for source, target in remap.items():
        if source not in names:
            raise fail(f"remap.{source}", "not a class of this dataset")
        if not isinstance(target, str) or not target.strip():
            raise fail(f"remap.{source}", f"{target!r}: a class name, or {IGNORE}")
        existing = folded.get(target.casefold())
        if existing is not None and existing != target:
            raise fail(f"remap.{source}", f"{target!r}: the class is spelt {existing!r}")
        result[str(source)] = target
    return result
