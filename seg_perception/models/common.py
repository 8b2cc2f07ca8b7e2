"""Small layers shared by the decoders."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ConvBNReLU", "resize_to", "upsample_logits", "bilinear_kernel"]


class ConvBNReLU(nn.Sequential):
    """3x3 (or ``kernel_size``) convolution, batch norm and ReLU."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3):
        super().__init__(
            nn.Conv2d(
                in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False
            ),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )


def resize_to(x: torch.Tensor, size: tuple[int, int] | torch.Size) -> torch.Tensor:
    """Bilinearly resize ``x`` (B, C, h, w) to ``size`` (H, W) when it differs."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


def upsample_logits(logits: torch.Tensor, size: tuple[int, int] | torch.Size) -> torch.Tensor:
    """Final class scores at ``size``, in contiguous NCHW layout.

    Consumers reduce over the class axis; with classes outermost that is a cheap,
    vectorised reduction (channels_last would make it a strided one).
    """
    return resize_to(logits.contiguous(), size)


def bilinear_kernel(channels: int, kernel_size: int) -> torch.Tensor:
    """Per-channel bilinear upsampling weights for ``ConvTranspose2d`` (FCN's init).

    Returns a (channels, channels, k, k) tensor that is zero off the diagonal, so
    each class map is upsampled on its own.
    """
    factor = (kernel_size + 1) // 2
    center = factor - 1 if kernel_size % 2 == 1 else factor - 0.5
    grid = torch.arange(kernel_size, dtype=torch.float32)
    profile = 1 - (grid - center).abs() / factor
    kernel = profile[:, None] * profile[None, :]
    weight = torch.zeros(channels, channels, kernel_size, kernel_size)
    weight[range(channels), range(channels)] = kernel
    return weight
