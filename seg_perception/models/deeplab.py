"""DeepLabv3+: dilated backbone, ASPP and a light decoder.

Chen et al., "Encoder-Decoder with Atrous Separable Convolution for Semantic Image
Segmentation" (DeepLabv3+), ECCV 2018. ASPP is torchvision's; the decoder fuses the
upsampled ASPP output with projected stride-4 features.
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models.segmentation.deeplabv3 import ASPP

from .common import ConvBNReLU, resize_to, upsample_logits
from .encoders import Encoder

__all__ = ["DeepLabV3Plus"]


class DeepLabV3Plus(nn.Module):
    """DeepLabv3+ on a dilated encoder.

    Args:
        encoder: dilated encoder returning ``c2`` (1/4) and ``c5`` (1/8 or 1/16).
        num_classes: output classes.
        aspp_channels: ASPP and decoder width.
        atrous_rates: ASPP dilation rates (6, 12, 18 for output stride 16).
    """

    def __init__(
        self,
        encoder: Encoder,
        num_classes: int,
        aspp_channels: int = 256,
        atrous_rates: tuple[int, int, int] = (6, 12, 18),
    ):
        super().__init__()
        self.encoder = encoder
        self.aspp = ASPP(encoder.channels["c5"], list(atrous_rates), aspp_channels)
        self.low_level_projection = ConvBNReLU(encoder.channels["c2"], 48, kernel_size=1)
        self.decoder = nn.Sequential(
            ConvBNReLU(aspp_channels + 48, aspp_channels),
            ConvBNReLU(aspp_channels, aspp_channels),
            nn.Conv2d(aspp_channels, num_classes, 1),
        )

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        features = self.encoder(x)
        low = self.low_level_projection(features["c2"])  # (B, 48, H/4, W/4)
        context = resize_to(self.aspp(features["c5"]), low.shape[-2:])  # (B, 256, H/4, W/4)
        logits = self.decoder(torch.cat([context, low], dim=1))
        return {"out": upsample_logits(logits, x.shape[-2:])}
