"""DAVIS video object segmentation measures: region similarity J and boundary F.

They follow the DAVIS 2016 benchmark code (Perazzi et al., CVPR 2016): J is the mask
IoU; F is the F-measure of boundary pixels matched within 0.8 % of the image diagonal.
Both count 1.0 when prediction and truth are both empty.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

__all__ = ["boundary_f", "boundary_map", "region_j"]


def region_j(prediction: np.ndarray, truth: np.ndarray) -> float:
    """Mask IoU of two boolean (H, W) masks."""
    prediction, truth = prediction.astype(bool), truth.astype(bool)
    union = np.count_nonzero(prediction | truth)
    if union == 0:
        return 1.0
    return np.count_nonzero(prediction & truth) / union


def boundary_map(mask: np.ndarray) -> np.ndarray:
    """One-pixel boundary of a boolean mask: pixels whose east, south or south-east
    neighbour differs (the DAVIS ``seg2bmap`` at the mask's own size)."""
    mask = mask.astype(bool)
    east = np.zeros_like(mask)
    south = np.zeros_like(mask)
    south_east = np.zeros_like(mask)
    east[:, :-1] = mask[:, 1:]
    south[:-1, :] = mask[1:, :]
    south_east[:-1, :-1] = mask[1:, 1:]
    boundary = (mask ^ east) | (mask ^ south) | (mask ^ south_east)
    boundary[-1, :] = mask[-1, :] ^ east[-1, :]
    boundary[:, -1] = mask[:, -1] ^ south[:, -1]
    boundary[-1, -1] = False
    return boundary


def _disk(radius: int) -> np.ndarray:
    y, x = np.ogrid[-radius : radius + 1, -radius : radius + 1]
    return (x * x + y * y <= radius * radius).astype(np.uint8)


def boundary_f(prediction: np.ndarray, truth: np.ndarray, tolerance: float = 0.008) -> float:
    """Boundary F-measure; ``tolerance`` below 1 is a fraction of the image diagonal."""
    if prediction.shape != truth.shape:
        raise ValueError(f"mask shapes differ: {prediction.shape} and {truth.shape}")
    radius = int(tolerance) if tolerance >= 1 else math.ceil(tolerance * math.hypot(*truth.shape))
    predicted_boundary = boundary_map(prediction)
    true_boundary = boundary_map(truth)
    n_predicted = np.count_nonzero(predicted_boundary)
    n_true = np.count_nonzero(true_boundary)
    if n_predicted == 0 or n_true == 0:
        return 1.0 if n_predicted == n_true else 0.0
    disk = _disk(radius)
    near_true = cv2.dilate(true_boundary.astype(np.uint8), disk).astype(bool)
    near_predicted = cv2.dilate(predicted_boundary.astype(np.uint8), disk).astype(bool)
    precision = np.count_nonzero(predicted_boundary & near_true) / n_predicted
    recall = np.count_nonzero(true_boundary & near_predicted) / n_true
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)
