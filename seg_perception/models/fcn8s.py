"""FCN-8s: fully convolutional network with skips fused in label space.

Long, Shelhamer and Darrell, "Fully Convolutional Networks for Semantic
Segmentation", CVPR 2015. Class scores from strides 32, 16 and 8 are summed after
learned 2x upsampling; a final learned 8x upsampling returns to the input size.
Transposed convolutions start as bilinear interpolation and have kernels divisible
by their stride (4/2 and 16/8), which avoids checkerboard artefacts.
"""

from __future__ import annotations

import torch
from torch import nn

from .common import bilinear_kernel, resize_to
from .encoders import Encoder

__all__ = ["FCN8s"]


def _learned_upsample(channels: int, stride: int) -> nn.ConvTranspose2d:
    kernel = 2 * stride
    layer = nn.ConvTranspose2d(
        channels, channels, kernel, stride=stride, padding=stride // 2, bias=False
    )
    with torch.no_grad():
        layer.weight.copy_(bilinear_kernel(channels, kernel))
    return layer


def _match(x: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Crop (FCN's "crop" layer) or, if smaller, resize ``x`` to ``reference``'s size."""
    h, w = reference.shape[-2:]
    if x.shape[-2] >= h and x.shape[-1] >= w:
        return x[..., :h, :w]
    return resize_to(x, (h, w))


class FCN8s(nn.Module):
    """FCN-8s on a swappable encoder.

    Args:
        encoder: multi-scale encoder returning ``c3`` (1/8), ``c4`` (1/16), ``c5`` (1/32).
        num_classes: output classes.
        head_channels: width of the fc6/fc7-style convolutions on ``c5``.
    """

    def __init__(self, encoder: Encoder, num_classes: int, head_channels: int = 512):
        super().__init__()
        self.encoder = encoder
        channels = encoder.channels
        self.head = nn.Sequential(  # fc6/fc7 as convolutions
            nn.Conv2d(channels["c5"], head_channels, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Dropout2d(0.1),
            nn.Conv2d(head_channels, head_channels, 1),
            nn.ReLU(inplace=True),
        )
        self.score_c5 = nn.Conv2d(head_channels, num_classes, 1)
        self.score_c4 = nn.Conv2d(channels["c4"], num_classes, 1)
        self.score_c3 = nn.Conv2d(channels["c3"], num_classes, 1)
        for score in (self.score_c4, self.score_c3):  # skips start silent, as in the paper
            nn.init.zeros_(score.weight)
            nn.init.zeros_(score.bias)
        self.up2_c5 = _learned_upsample(num_classes, 2)
        self.up2_c4 = _learned_upsample(num_classes, 2)
        self.up8 = _learned_upsample(num_classes, 8)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        features = self.encoder(x)
        score = self.score_c5(self.head(features["c5"]))  # (B, K, H/32, W/32)
        skip = self.score_c4(features["c4"])  # (B, K, H/16, W/16)
        score = _match(self.up2_c5(score), skip) + skip
        skip = self.score_c3(features["c3"])  # (B, K, H/8, W/8)
        score = _match(self.up2_c4(score), skip) + skip
        score = self.up8(score)  # (B, K, ~H, ~W)
        return {"out": _match(score, x).contiguous()}
