"""Training labels from another model's object probability: confident pixels away from
its mask's edge, the rest ignored (self-training on the motion stream's masks)."""

from __future__ import annotations

import cv2
import numpy as np

from ..classes import IGNORE_INDEX

__all__ = ["pseudo_labels"]


def pseudo_labels(
    probability: np.ndarray,
    positive_threshold: float,
    negative_threshold: float,
    margin: int,
) -> np.ndarray | None:
    """(H, W) uint8 labels: 1 object, 0 background, ``IGNORE_INDEX`` unsure.

    Args:
        probability: (H, W) object probability.
        positive_threshold: a pixel above it, and more than ``margin`` px inside the
            mask (probability > 0.5), is the object.
        negative_threshold: a pixel below it, and more than ``margin`` px outside the
            mask, is background.
        margin: pixels on each side of the mask's edge that stay unlabelled.

    Returns None when no pixel is a positive: the other model found no object there, and
    training on the frame would teach that everything is background.
    """
    if not 0 < negative_threshold <= 0.5 <= positive_threshold < 1:
        raise ValueError(
            f"thresholds must satisfy 0 < negative ({negative_threshold}) <= 0.5 <= "
            f"positive ({positive_threshold}) < 1"
        )
    mask = (probability > 0.5).astype(np.uint8)
    if not mask.any():
        return None
    inside = cv2.distanceTransform(mask, cv2.DIST_L2, 5) > margin
    outside = cv2.distanceTransform(1 - mask, cv2.DIST_L2, 5) > margin
    positive = inside & (probability > positive_threshold)
    if not positive.any():
        return None
    labels = np.full(mask.shape, IGNORE_INDEX, np.uint8)
    labels[outside & (probability < negative_threshold)] = 0
    labels[positive] = 1
    return labels
