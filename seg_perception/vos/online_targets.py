"""OnAVOS's online training targets (Voigtlaender & Leibe, BMVC 2017): confident,
eroded positives from the current prediction and negatives far from the last mask."""

from __future__ import annotations

import cv2
import numpy as np

from ..classes import IGNORE_INDEX

__all__ = ["online_targets"]


def online_targets(
    probability: np.ndarray,
    last_mask: np.ndarray,
    positive_threshold: float,
    erosion: int,
    negative_distance: float,
) -> np.ndarray | None:
    """(H, W) uint8 labels: 1 positive, 0 negative, ``IGNORE_INDEX`` elsewhere.

    Args:
        probability: (H, W) object probability of the current frame.
        last_mask: (H, W) bool mask of the previous frame (its distance transform
            selects the negatives).
        positive_threshold: probability above which a pixel is a positive.
        erosion: radius in pixels the positives are eroded by (their uncertain rim).
        negative_distance: a pixel farther than this from ``last_mask``, as a fraction
            of the image diagonal, is a negative.

    Returns None when there is no positive or no previous mask: the object is lost (or
    not there) and adapting would teach the network that everything is background.
    """
    if probability.shape != last_mask.shape:
        raise ValueError(f"shapes differ: {probability.shape} and {last_mask.shape}")
    if not last_mask.any():
        return None
    positive = (probability > positive_threshold).astype(np.uint8)
    if erosion > 0:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * erosion + 1, 2 * erosion + 1))
        positive = cv2.erode(positive, kernel)
    if not positive.any():
        return None
    distance = cv2.distanceTransform((~last_mask).astype(np.uint8), cv2.DIST_L2, 5)
    diagonal = float(np.hypot(*last_mask.shape))
    labels = np.full(last_mask.shape, IGNORE_INDEX, np.uint8)
    labels[distance > negative_distance * diagonal] = 0
    labels[positive.astype(bool)] = 1
    return labels
