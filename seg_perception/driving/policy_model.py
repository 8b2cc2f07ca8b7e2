"""The driving policy: a shared encoder, the zoo's LR-ASPP head as the auxiliary
segmentation branch, and a policy head regressing ``[steer, gas, brake]``.

Xu et al., "End-to-end Learning of Driving Models from Large-scale Video Datasets",
CVPR 2017: segmentation as a side task shapes the shared features.
"""

from __future__ import annotations

import torch
from torch import nn

from ..models import build_model
from ..models.common import upsample_logits
from .sim_labels import DRIVING_CLASSES

__all__ = ["DrivingPolicy", "POLICY_MODEL", "squash_actions"]

POLICY_MODEL = "driving_policy"


def squash_actions(raw: torch.Tensor) -> torch.Tensor:
    """Map raw outputs to ``[steer in (-1, 1), gas in (0, 1), brake in (0, 1)]``."""
    return torch.cat([torch.tanh(raw[:, :1]), torch.sigmoid(raw[:, 1:])], dim=1)


class DrivingPolicy(nn.Module):
    """Image (B, 3, H, W) -> ``{"action": (B, 3), "seg": (B, K, H, W)}``.

    Args:
        encoder: zoo encoder name (dilated, as LR-ASPP builds it).
        num_seg_classes: classes of the auxiliary head (``DRIVING_CLASSES``).
        inter_channels: width of the LR-ASPP head.
        policy_channels: channels of the reduced stride-16 features the policy reads.
        grid: the policy reads those features pooled to ``grid x grid`` cells, keeping
            where things are in the frame (steering depends on it).
        hidden: width of the policy MLP.
        pretrained: start the encoder from ImageNet (``PRETRAINED_ENCODERS``); loading a
            checkpoint never needs it.
    """

    def __init__(
        self,
        encoder: str = "mobilenet_v3_small",
        num_seg_classes: int = DRIVING_CLASSES.num_classes,
        inter_channels: int = 64,
        policy_channels: int = 32,
        grid: int = 6,
        hidden: int = 256,
        pretrained: bool = False,
    ):
        super().__init__()
        self.segmenter_kwargs = {"encoder": encoder, "inter_channels": inter_channels}
        self.segmenter = build_model(
            "lraspp", num_seg_classes, pretrained=pretrained, **self.segmenter_kwargs
        )
        high = self.segmenter.encoder.channels["c5"]
        self.reduce = nn.Sequential(
            nn.Conv2d(high, policy_channels, 1, bias=False),
            nn.BatchNorm2d(policy_channels),
            nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d(grid),
        )
        self.policy_head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(policy_channels * grid * grid, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(0.2),
            nn.Linear(hidden, 3),
        )

    def forward(self, x: torch.Tensor, with_segmentation: bool = True) -> dict[str, torch.Tensor]:
        features = self.segmenter.encoder(x)
        out = {"action": squash_actions(self.policy_head(self.reduce(features["c5"])))}
        if with_segmentation:
            logits = self.segmenter.head({"low": features["c3"], "high": features["c5"]})
            out["seg"] = upsample_logits(logits, x.shape[-2:])
        return out
