"""Picture of instances: each its own colour, blended over the frame, with its outline."""

from __future__ import annotations

import colorsys
from collections.abc import Sequence

import cv2
import numpy as np

from .components import Instance

__all__ = ["instance_color", "instance_overlay"]


def instance_color(instance_id: int) -> tuple[int, int, int]:
    """A bright colour per id, stable across frames, neighbours far apart in hue."""
    hue = (instance_id * 0.618033988749895) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.85, 1.0)
    return int(255 * r), int(255 * g), int(255 * b)


def instance_overlay(
    rgb: np.ndarray, instances: Sequence[Instance], ids: Sequence[int], alpha: float = 0.5
) -> np.ndarray:
    """(H, W, 3) uint8: instance colours blended over ``rgb`` and 2-px outlines."""
    out = rgb.copy()
    for inst, instance_id in zip(instances, ids, strict=True):
        if not instance_id:
            continue
        color = np.array(instance_color(instance_id), dtype=np.float32)
        region = out[inst.mask].astype(np.float32)
        out[inst.mask] = ((1 - alpha) * region + alpha * color).astype(np.uint8)
        contours, _ = cv2.findContours(
            inst.mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
        )
        cv2.drawContours(out, contours, -1, tuple(int(c) for c in color), 2)
    return out
