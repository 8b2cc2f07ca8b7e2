"""Teach a cosine-classifier model new classes from a few labelled frames (no ROS).

Support: per new class, (image, mask) pairs; a mask marks the class's pixels (any
non-zero value). Each class gets one new row per classifier, its NMAP prototype;
``alpha > 0`` also adapts the base proxies present in the supports, and
``refine_steps > 0`` then trains the new rows on the support frames (labels, for both:
the model's own prediction outside the masks). Bad support raises ``SupportError`` (one
line) before the model is touched.
"""

from __future__ import annotations

import colorsys
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..classes import IGNORE_INDEX, ClassSet
from ..image_codec import DEFAULT_MAX_PIXELS, ImageDecodeError, read_image_file
from .adaptive_proxies import AdaptiveProxies, classifier_features, segment_features
from .cancellation import TeachingCancelled, never_cancelled
from .proxies import support_prototypes
from .proxy_refinement import refine_proxies

__all__ = [
    "SupportError",
    "SupportPair",
    "read_support_folder",
    "check_support",
    "imprint_classes",
    "remove_classes",
    "new_class_colour",
]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
MASK_SUFFIX = "_mask.png"


class SupportError(ValueError):
    """The support set cannot be used (the message says which frame and why)."""


@dataclass(frozen=True)
class SupportPair:
    """One support frame: (H, W, 3) uint8 RGB and its (H, W) bool mask of the class."""

    name: str
    rgb: np.ndarray
    mask: np.ndarray


def check_support(class_name: str, pairs: Sequence[SupportPair], classes: ClassSet) -> None:
    """Raise ``SupportError`` for a duplicate class name, no pairs, a mask of another
    size than its image, or an empty or all-foreground mask."""
    if class_name in classes.names:
        raise SupportError(f"class {class_name!r} already exists")
    if not class_name.strip() or "\n" in class_name:
        raise SupportError(f"invalid class name {class_name!r}")
    if not pairs:
        raise SupportError(f"class {class_name!r}: no support frames")
    for pair in pairs:
        if pair.rgb.ndim != 3 or pair.rgb.shape[2] != 3 or pair.rgb.dtype != np.uint8:
            raise SupportError(f"{pair.name}: image is not RGB uint8 ({pair.rgb.shape})")
        if pair.mask.shape != pair.rgb.shape[:2]:
            raise SupportError(
                f"{pair.name}: mask is {pair.mask.shape[1]}x{pair.mask.shape[0]}, image "
                f"{pair.rgb.shape[1]}x{pair.rgb.shape[0]}"
            )
        if not pair.mask.any():
            raise SupportError(f"{pair.name}: mask is empty")
        if pair.mask.all():
            raise SupportError(f"{pair.name}: mask covers the whole frame (no background)")


def read_support_folder(
    folder: str | Path, max_pixels: int = DEFAULT_MAX_PIXELS
) -> dict[str, list[SupportPair]]:
    """``folder/<class name>/<stem>.{png,jpg}`` with ``<stem>_mask.png`` beside each.

    Images and masks are decoded as strictly as camera frames: the header first, then
    the ``max_pixels`` budget, and a truncated or corrupt file is refused, not taught.

    Raises:
        SupportError: no class folder, an image without a mask, an unreadable file, a
            file over the pixel budget.
    """
    root = Path(folder)
    if not root.is_dir():
        raise SupportError(f"support folder {root} not found")
    supports: dict[str, list[SupportPair]] = {}
    for class_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        pairs = []
        for image in sorted(class_dir.iterdir()):
            if image.suffix.lower() not in IMAGE_SUFFIXES or image.name.endswith(MASK_SUFFIX):
                continue
            mask_path = image.with_name(image.stem + MASK_SUFFIX)
            if not mask_path.is_file():
                raise SupportError(f"{image}: no mask {mask_path.name} beside it")
            try:
                mask = read_image_file(mask_path, max_pixels, mode="L")
                rgb = read_image_file(image, max_pixels)
            except ImageDecodeError as exc:
                raise SupportError(str(exc).splitlines()[0]) from None
            pairs.append(SupportPair(str(image), rgb, mask > 0))
        supports[class_dir.name] = pairs
    if not supports:
        raise SupportError(f"{root} holds no class folder (<class name>/<image> + _mask.png)")
    return supports


def new_class_colour(name: str, taken: Sequence[Sequence[int]]) -> tuple[int, int, int]:
    """A saturated colour for ``name`` (stable: from its hash), the first of a golden-
    ratio hue walk at least 100 RGB levels from every taken colour (else the farthest)."""
    hue = int(hashlib.sha256(name.encode()).hexdigest()[:8], 16) / 2**32
    used = np.asarray(taken, dtype=np.float64).reshape(-1, 3)
    best, best_distance = None, -1.0
    for step in range(64):
        r, g, b = colorsys.hsv_to_rgb((hue + step * 0.618034) % 1.0, 0.9, 0.95)
        colour = (round(255 * r), round(255 * g), round(255 * b))
        distance = float(np.min(np.linalg.norm(used - colour, axis=1))) if len(used) else 1e9
        if distance >= 100:
            return colour
        if distance > best_distance:
            best, best_distance = colour, distance
    if best_distance <= 0:
        raise SupportError("no free colour left for a new class")
    return best


def imprint_classes(
    model: nn.Module,
    classes: ClassSet,
    supports: dict[str, list[SupportPair]],
    input_size: tuple[int, int] = (480, 360),
    alpha: float = 0.0,
    refine_steps: int = 0,
    cancelled: Callable[[], bool] = never_cancelled,
) -> ClassSet:
    """Append one class per entry of ``supports`` to ``model`` (in place) and return
    the extended classes (palette extended too). ``cancelled`` is asked before each
    support frame and refinement step.

    Raises:
        SupportError: bad support (checked for every class before any change).
        TeachingCancelled: ``cancelled()`` said so (``model`` may be half changed).
    """
    proxies = AdaptiveProxies(model)
    if proxies.num_classes != classes.num_classes:
        raise SupportError(
            f"the model has {proxies.num_classes} classes, the class list {classes.num_classes}"
        )
    for name, pairs in supports.items():
        check_support(name, pairs, classes)
    if len(set(supports)) != len(supports):
        raise SupportError("duplicate class names in the support set")
    names, colours = list(classes.names), [tuple(c) for c in classes.colors]
    everything = torch.ones(classes.num_classes, dtype=torch.bool)
    base_features, base_labels, frame_labels, new_prototypes = [], [], [], []
    for offset, (name, pairs) in enumerate(supports.items()):
        class_id = classes.num_classes + offset
        features, labels = [], []
        for pair in pairs:
            if cancelled():
                raise TeachingCancelled("teaching cancelled")
            f = classifier_features(model, pair.rgb, input_size)
            mask = torch.from_numpy(pair.mask)
            novel = torch.full(mask.shape, IGNORE_INDEX, dtype=torch.int64)
            novel[mask] = class_id
            features.append(f)
            labels.append(novel)
            if alpha > 0 or refine_steps > 0:
                predicted = segment_features(model, f, everything, pair.mask.shape)
                base = torch.from_numpy(predicted.astype(np.int64))
                base[mask] = IGNORE_INDEX
                base_features.append(f)
                base_labels.append(base)
                frame_labels.append(torch.where(mask, novel, base))
        prototype = support_prototypes(features, labels, [class_id])
        if class_id not in prototype:
            raise SupportError(f"class {name!r}: its masks cover no feature cell")
        new_prototypes.append(prototype[class_id])
    if alpha > 0:
        base = support_prototypes(base_features, base_labels, list(range(classes.num_classes)))
        for class_id, prototype in base.items():
            proxies.adapt(class_id, prototype, alpha)
    for offset, (name, prototype) in enumerate(zip(supports, new_prototypes, strict=True)):
        proxies.imprint(classes.num_classes + offset, prototype)
        names.append(name)
        colours.append(new_class_colour(name, colours))
    new_ids = range(classes.num_classes, classes.num_classes + len(supports))
    refine_proxies(
        proxies, base_features, frame_labels, new_ids, refine_steps, cancelled=cancelled
    )
    return ClassSet(tuple(names), tuple(colours))


def remove_classes(model: nn.Module, classes: ClassSet, names: Sequence[str]) -> ClassSet:
    """Drop the rows of ``names`` from ``model`` (in place); ids above move down.

    Raises:
        SupportError: an unknown name, or removing every class.
    """
    unknown = [name for name in names if name not in classes.names]
    if unknown:
        raise SupportError(f"no class named {', '.join(map(repr, unknown))}")
    if len(set(names)) >= classes.num_classes:
        raise SupportError("cannot remove every class")
    proxies = AdaptiveProxies(model)
    kept = [i for i, name in enumerate(classes.names) if name not in names]
    for class_id in sorted((classes.names.index(n) for n in set(names)), reverse=True):
        proxies.remove(class_id)
    return ClassSet(
        tuple(classes.names[i] for i in kept), tuple(tuple(classes.colors[i]) for i in kept)
    )
