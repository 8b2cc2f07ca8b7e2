"""Instances from a semantic label image: connected components of the thing classes.

This is both the ``fast`` instance mode of the node (on predicted labels) and the
derivation of CamVid's instance ground truth (on annotated labels), which CamVid
lacks. Its limit: objects of one class that touch become one instance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["Instance", "instances_from_labels", "mask_bbox"]


@dataclass
class Instance:
    """One object: its pixels, class and score."""

    mask: np.ndarray  # (H, W) bool
    class_id: int  # id in the semantic class set (e.g. CamVid Car = 8)
    score: float  # 1.0 for ground truth; mean confidence or detector score otherwise

    @property
    def area(self) -> int:
        return int(self.mask.sum())

    @property
    def bbox(self) -> tuple[int, int, int, int]:
        """``(x, y, w, h)`` in pixels, the tight box of the mask."""
        return mask_bbox(self.mask)


def mask_bbox(mask: np.ndarray) -> tuple[int, int, int, int]:
    """Tight ``(x, y, w, h)`` box of a boolean mask; ``(0, 0, 0, 0)`` when it is empty."""
    ys, xs = np.nonzero(mask)
    if xs.size == 0:
        return (0, 0, 0, 0)
    x0, y0 = int(xs.min()), int(ys.min())
    return (x0, y0, int(xs.max()) - x0 + 1, int(ys.max()) - y0 + 1)


def instances_from_labels(
    labels: np.ndarray,
    thing_class_ids: Sequence[int],
    min_area: int = 50,
    confidence: np.ndarray | None = None,
    connectivity: int = 8,
) -> list[Instance]:
    """Split each thing class of ``labels`` into connected components.

    Args:
        labels: (H, W) uint8 class ids.
        thing_class_ids: classes that count as objects (e.g. Car, Pedestrian, Bicyclist).
        min_area: components smaller than this many pixels are dropped (noise, slivers).
        confidence: optional (H, W) per-pixel confidence; an instance's score is its mean
            over the component (1.0 without it).
        connectivity: 4 or 8.

    Returns:
        Instances ordered by class id, then by decreasing area.
    """
    if labels.ndim != 2:
        raise ValueError(f"labels must be (H, W), got shape {labels.shape}")
    if connectivity not in (4, 8):
        raise ValueError(f"connectivity must be 4 or 8, got {connectivity}")
    if confidence is not None and confidence.shape != labels.shape:
        raise ValueError(f"confidence {confidence.shape} does not match labels {labels.shape}")
    instances: list[Instance] = []
    for class_id in sorted(set(int(c) for c in thing_class_ids)):
        binary = (labels == class_id).astype(np.uint8)
        if not binary.any():
            continue
        count, components, stats, _ = cv2.connectedComponentsWithStats(
            binary, connectivity=connectivity
        )
        keep = [i for i in range(1, count) if stats[i, cv2.CC_STAT_AREA] >= min_area]
        keep.sort(key=lambda i: -stats[i, cv2.CC_STAT_AREA])
        for i in keep:
            mask = components == i
            score = float(confidence[mask].mean()) if confidence is not None else 1.0
            instances.append(Instance(mask, class_id, score))
    return instances
