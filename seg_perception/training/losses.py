"""Pixel-wise segmentation losses: cross entropy, class-weighted and bootstrapped.

* Weighted cross entropy: ENet's ``w_c = 1 / ln(c + p_c)`` (Paszke et al., 2016) or
  median frequency balancing ``w_c = median(f) / f_c`` (Eigen and Fergus, 2015).
* Bootstrapped cross entropy: the mean over the hardest pixels only, those whose
  true-class probability is below a threshold and/or the top-k fraction by loss
  (Wu, Shen and van den Hengel, "Bridging category-level and instance-level
  semantic image segmentation", 2016).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..classes import IGNORE_INDEX

__all__ = [
    "class_frequencies",
    "enet_weights",
    "median_frequency_weights",
    "BootstrappedCrossEntropy",
    "build_criterion",
    "LOSS_NAMES",
]

LOSS_NAMES = ("ce", "weighted_ce", "bootstrapped_ce")


def class_frequencies(
    labels: Iterable[np.ndarray], num_classes: int, ignore_index: int = IGNORE_INDEX
) -> tuple[np.ndarray, np.ndarray]:
    """Pixel counts per class and the pixels of images in which each class occurs.

    Returns:
        ``(class_pixels, image_pixels)``: both (num_classes,) float arrays; the second
        is what median frequency balancing divides by.
    """
    class_pixels = np.zeros(num_classes, dtype=np.float64)
    image_pixels = np.zeros(num_classes, dtype=np.float64)
    for label in labels:
        valid = label[label != ignore_index]
        counts = np.bincount(valid.ravel(), minlength=num_classes)[:num_classes]
        class_pixels += counts
        image_pixels[counts > 0] += valid.size
    return class_pixels, image_pixels


def enet_weights(class_pixels: np.ndarray, c: float = 1.02) -> np.ndarray:
    """ENet class weights ``1 / ln(c + p)`` with ``p`` the class's share of labelled pixels."""
    share = class_pixels / max(class_pixels.sum(), 1.0)
    return 1.0 / np.log(c + share)


def median_frequency_weights(class_pixels: np.ndarray, image_pixels: np.ndarray) -> np.ndarray:
    """Median frequency balancing; classes never seen get weight 0."""
    freq = np.divide(
        class_pixels, image_pixels, out=np.zeros_like(class_pixels), where=image_pixels > 0
    )
    median = np.median(freq[freq > 0])
    return np.divide(median, freq, out=np.zeros_like(freq), where=freq > 0)


class BootstrappedCrossEntropy(nn.Module):
    """Cross entropy averaged over the hardest pixels.

    A pixel counts when its true-class probability is below ``threshold``; when fewer
    than ``min_fraction`` of the valid pixels qualify, the ``min_fraction`` pixels with
    the largest loss are used instead (so the loss never vanishes).

    Args:
        threshold: probability below which a pixel is hard (1.0 keeps all).
        min_fraction: top-k fraction of valid pixels always kept, in (0, 1].
        ignore_index: label value to skip.
        weight: optional per-class weights.
    """

    def __init__(
        self,
        threshold: float = 0.7,
        min_fraction: float = 0.25,
        ignore_index: int = IGNORE_INDEX,
        weight: torch.Tensor | None = None,
    ):
        super().__init__()
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        if not 0.0 < min_fraction <= 1.0:
            raise ValueError(f"min_fraction must be in (0, 1], got {min_fraction}")
        self.threshold = threshold
        self.min_fraction = min_fraction
        self.ignore_index = ignore_index
        self.register_buffer("weight", weight)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        pixel_loss = F.cross_entropy(
            logits, target, weight=self.weight, ignore_index=self.ignore_index, reduction="none"
        ).flatten()
        valid = (target != self.ignore_index).flatten()
        pixel_loss = pixel_loss[valid]
        if pixel_loss.numel() == 0:
            return logits.sum() * 0.0
        # Weighted CE scales the loss, so hardness is judged on the unweighted probability.
        with torch.no_grad():
            log_prob = F.log_softmax(logits, dim=1)
            safe_target = target.clamp(max=logits.shape[1] - 1).unsqueeze(1)
            true_prob = log_prob.gather(1, safe_target).exp().flatten()[valid]
        hard = true_prob < self.threshold
        k = max(1, int(self.min_fraction * pixel_loss.numel()))
        if int(hard.sum()) >= k:
            return pixel_loss[hard].mean()
        return pixel_loss.topk(k).values.mean()


def build_criterion(
    name: str,
    class_weights: torch.Tensor | None = None,
    *,
    threshold: float = 0.7,
    min_fraction: float = 0.25,
) -> nn.Module:
    """Loss by name: ``ce``, ``weighted_ce`` (needs ``class_weights``) or ``bootstrapped_ce``."""
    if name == "ce":
        return nn.CrossEntropyLoss(ignore_index=IGNORE_INDEX)
    if name == "weighted_ce":
        if class_weights is None:
            raise ValueError("weighted_ce needs class weights")
        return nn.CrossEntropyLoss(weight=class_weights, ignore_index=IGNORE_INDEX)
    if name == "bootstrapped_ce":
        return BootstrappedCrossEntropy(threshold, min_fraction, weight=class_weights)
    raise ValueError(f"unknown loss {name!r}; choose from {', '.join(LOSS_NAMES)}")
