"""LR-ASPP: the real-time model the node loads by default.

Howard et al., "Searching for MobileNetV3", ICCV 2019. torchvision's ``LRASPPHead``
on a dilated MobileNetV3-Large: a global-pooling gate over the stride-16 features,
fused with a linear projection of the stride-8 features.
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models.segmentation.lraspp import LRASPPHead

from .common import resize_to, upsample_logits
from .cosine_classifier import CosineClassifier
from .encoders import Encoder

__all__ = ["LRASPP", "CLASSIFIERS"]

CLASSIFIERS = ("linear", "cosine")


class LRASPP(nn.Module):
    """LR-ASPP on an encoder returning ``c3`` (low, 1/8) and ``c5`` (high, 1/16).

    The class scores are the sum of two classifiers at stride 8: one on the low-level
    features, one on the gated high-level branch (upsampled to stride 8).

    Args:
        encoder: encoder (dilated MobileNetV3-Large by default).
        num_classes: output classes.
        inter_channels: width of the gated high-level branch.
        classifier: ``linear`` (torchvision's 1x1 convolutions) or ``cosine``
            (``CosineClassifier`` on both branches: rows can be imprinted, few-shot).
    """

    def __init__(
        self,
        encoder: Encoder,
        num_classes: int,
        inter_channels: int = 128,
        classifier: str = "linear",
    ):
        super().__init__()
        if classifier not in CLASSIFIERS:
            raise ValueError(f"classifier must be one of {', '.join(CLASSIFIERS)}")
        self.encoder = encoder
        self.head = LRASPPHead(
            encoder.channels["c3"], encoder.channels["c5"], num_classes, inter_channels
        )
        if classifier == "cosine":
            self.head.low_classifier = CosineClassifier(encoder.channels["c3"], num_classes)
            self.head.high_classifier = CosineClassifier(inter_channels, num_classes)

    def classifier_features(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """What the two classifiers read, both at stride 8: ``low`` and ``high``."""
        features = self.encoder(x)
        low, high = features["c3"], features["c5"]
        gated = self.head.cbr(high) * self.head.scale(high)
        return {"low": low, "high": resize_to(gated, low.shape[-2:])}

    def classify(self, features: dict[str, torch.Tensor]) -> torch.Tensor:
        """Stride-8 class scores from ``classifier_features``."""
        low = self.head.low_classifier(features["low"])
        return low + self.head.high_classifier(features["high"])

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        logits = self.classify(self.classifier_features(x))  # (B, K, H/8, W/8)
        return {"out": upsample_logits(logits, x.shape[-2:])}
