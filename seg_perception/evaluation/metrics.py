"""Confusion-matrix segmentation metrics: per-class IoU, mean IoU, pixel accuracy."""

from __future__ import annotations

import numpy as np
import torch

from ..classes import IGNORE_INDEX

__all__ = ["ConfusionMatrix"]


class ConfusionMatrix:
    """Accumulates a (num_classes, num_classes) matrix, rows = truth, columns = prediction.

    Pixels labelled ``ignore_index`` (or any id >= num_classes) are skipped.
    """

    def __init__(self, num_classes: int, ignore_index: int = IGNORE_INDEX):
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.matrix = np.zeros((num_classes, num_classes), dtype=np.int64)

    def update(
        self, truth: np.ndarray | torch.Tensor, prediction: np.ndarray | torch.Tensor
    ) -> None:
        truth = np.asarray(truth.cpu() if isinstance(truth, torch.Tensor) else truth).ravel()
        prediction = np.asarray(
            prediction.cpu() if isinstance(prediction, torch.Tensor) else prediction
        ).ravel()
        if truth.shape != prediction.shape:
            raise ValueError(f"truth has {truth.size} pixels, prediction {prediction.size}")
        keep = (truth != self.ignore_index) & (truth < self.num_classes)
        index = truth[keep].astype(np.int64) * self.num_classes + prediction[keep].astype(np.int64)
        self.matrix += np.bincount(index, minlength=self.num_classes**2).reshape(
            self.num_classes, self.num_classes
        )

    def iou(self) -> np.ndarray:
        """Per-class IoU; NaN for a class absent from both truth and prediction."""
        tp = np.diag(self.matrix).astype(np.float64)
        union = self.matrix.sum(0) + self.matrix.sum(1) - tp
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(union > 0, tp / union, np.nan)

    def mean_iou(self) -> float:
        return float(np.nanmean(self.iou()))

    def pixel_accuracy(self) -> float:
        total = self.matrix.sum()
        return float(np.diag(self.matrix).sum() / total) if total else float("nan")

    def merge(self, other: ConfusionMatrix) -> None:
        self.matrix += other.matrix
