"""Cosine classifier: a 1x1 convolution whose weight rows are class prototypes.

Score of class k at pixel x: ``scale * <f(x) / |f(x)|, w_k / |w_k|>``. Because both
sides are unit vectors, a row can be replaced by a prototype computed from a few
labelled pixels (imprinting, ``seg_perception.fewshot``) without retraining.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["CosineClassifier"]


class CosineClassifier(nn.Module):
    """(B, C, H, W) features -> (B, K, H, W) scaled cosine similarities.

    Args:
        in_channels: feature channels C.
        num_classes: classes K (rows of ``weight``, shape (K, C)).
        scale: initial value of the learned temperature.
    """

    def __init__(self, in_channels: int, num_classes: int, scale: float = 10.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(num_classes, in_channels) * in_channels**-0.5)
        self.scale = nn.Parameter(torch.tensor(float(scale)))

    @property
    def num_classes(self) -> int:
        return self.weight.shape[0]

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        features = F.normalize(features, dim=1)
        rows = F.normalize(self.weight, dim=1)
        return self.scale * F.conv2d(features, rows[:, :, None, None])

    def set_rows(self, rows: torch.Tensor) -> None:
        """Replace all class rows (K', C) (any K'); they are used as unit vectors."""
        if rows.ndim != 2 or rows.shape[1] != self.weight.shape[1]:
            raise ValueError(f"rows must be (K, {self.weight.shape[1]}), got {tuple(rows.shape)}")
        self.weight = nn.Parameter(rows.detach().clone().to(self.weight))
