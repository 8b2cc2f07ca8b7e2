"""LR-ASPP: the real-time model the node loads by default.

Howard et al., "Searching for MobileNetV3", ICCV 2019. torchvision's ``LRASPPHead``
on a dilated MobileNetV3-Large: a global-pooling gate over the stride-16 features,
fused with a linear projection of the stride-8 features.
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models.segmentation.lraspp import LRASPPHead

from .common import upsample_logits
from .encoders import Encoder

__all__ = ["LRASPP"]


class LRASPP(nn.Module):
    """LR-ASPP on an encoder returning ``c3`` (low, 1/8) and ``c5`` (high, 1/16).

    Args:
        encoder: encoder (dilated MobileNetV3-Large by default).
        num_classes: output classes.
        inter_channels: width of the gated high-level branch.
    """

    def __init__(self, encoder: Encoder, num_classes: int, inter_channels: int = 128):
        super().__init__()
        self.encoder = encoder
        self.head = LRASPPHead(
            encoder.channels["c3"], encoder.channels["c5"], num_classes, inter_channels
        )

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        features = self.encoder(x)
        logits = self.head({"low": features["c3"], "high": features["c5"]})  # (B, K, H/8, W/8)
        return {"out": upsample_logits(logits, x.shape[-2:])}
