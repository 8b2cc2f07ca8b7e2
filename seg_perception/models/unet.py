"""U-Net: encoder-decoder with skips fused in feature space.

Ronneberger, Fischer and Brox, "U-Net: Convolutional Networks for Biomedical Image
Segmentation", MICCAI 2015. Each decoder stage upsamples, concatenates the encoder
feature of the same stride and applies two 3x3 convolutions.
"""

from __future__ import annotations

import torch
from torch import nn

from .common import ConvBNReLU, resize_to, upsample_logits
from .encoders import Encoder

__all__ = ["UNet"]


class _UpBlock(nn.Module):
    def __init__(self, in_channels: int, skip_channels: int, out_channels: int):
        super().__init__()
        self.fuse = nn.Sequential(
            ConvBNReLU(in_channels + skip_channels, out_channels),
            ConvBNReLU(out_channels, out_channels),
        )

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = resize_to(x, skip.shape[-2:])
        return self.fuse(torch.cat([x, skip], dim=1))


class UNet(nn.Module):
    """U-Net decoder on a swappable encoder.

    Args:
        encoder: encoder returning ``c1`` .. ``c5`` (strides 2 .. 32).
        num_classes: output classes.
        decoder_channels: widths of the four decoder stages, deepest first.
    """

    levels = ("c4", "c3", "c2", "c1")

    def __init__(
        self,
        encoder: Encoder,
        num_classes: int,
        decoder_channels: tuple[int, int, int, int] = (256, 128, 64, 32),
    ):
        super().__init__()
        self.encoder = encoder
        blocks = []
        in_channels = encoder.channels["c5"]
        for level, out_channels in zip(self.levels, decoder_channels, strict=True):
            blocks.append(_UpBlock(in_channels, encoder.channels[level], out_channels))
            in_channels = out_channels
        self.decoder = nn.ModuleList(blocks)
        self.classifier = nn.Conv2d(in_channels, num_classes, 1)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        features = self.encoder(x)
        y = features["c5"]  # (B, C5, H/32, W/32)
        for level, block in zip(self.levels, self.decoder, strict=True):
            y = block(y, features[level])  # ends at (B, 32, H/2, W/2)
        return {"out": upsample_logits(self.classifier(y), x.shape[-2:])}
