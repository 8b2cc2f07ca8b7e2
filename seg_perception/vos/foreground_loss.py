"""Binary cross entropy plus soft Dice over the pixels that carry a label."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from ..classes import IGNORE_INDEX

__all__ = ["masked_foreground_loss"]


def masked_foreground_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Loss of (B, 1, H, W) object logits against (B, H, W) labels: 1 object, 0
    background, ``IGNORE_INDEX`` not counted. Dice keeps a small object from vanishing
    under the background's majority."""
    valid = (labels != IGNORE_INDEX).float()[:, None]
    target = (labels == 1).float()[:, None]
    count = valid.sum().clamp(min=1.0)
    bce = (F.binary_cross_entropy_with_logits(logits, target, reduction="none") * valid).sum()
    probs = torch.sigmoid(logits) * valid
    inter = (probs * target).sum(dim=(1, 2, 3))
    dice = 1 - (2 * inter + 1) / (probs.sum(dim=(1, 2, 3)) + target.sum(dim=(1, 2, 3)) + 1)
    return bce / count + dice.mean()
