"""Model zoo: one builder, ``build_model(name, num_classes, **kwargs)``, used everywhere.

Every model maps (B, C, H, W) images to ``{"out": (B, num_classes, H, W)}`` logits.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from torch import nn

from .deeplab import DeepLabV3Plus
from .encoders import ENCODER_NAMES, PRETRAINED_ENCODERS, build_encoder
from .fcn8s import FCN8s
from .lraspp import LRASPP
from .two_stream import TwoStreamSegmenter
from .unet import UNet

__all__ = [
    "build_model",
    "MODEL_NAMES",
    "DEFAULT_ENCODERS",
    "ENCODER_NAMES",
    "PRETRAINED_ENCODERS",
    "TWO_STREAM",
    "TwoStreamSegmenter",
    "model_keyword_names",
]

_DECODERS: dict[str, tuple[Callable[..., nn.Module], str, bool]] = {
    # name: (decoder class, default encoder, needs a dilated encoder)
    "fcn8s": (FCN8s, "resnet18", False),
    "unet": (UNet, "resnet18", False),
    "deeplabv3plus": (DeepLabV3Plus, "mobilenet_v3_large", True),
    "lraspp": (LRASPP, "mobilenet_v3_large", True),
}
MODEL_NAMES = tuple(_DECODERS)
DEFAULT_ENCODERS = {name: spec[1] for name, spec in _DECODERS.items()}
TWO_STREAM = "two_stream"  # video model: forward(image, flow), see two_stream.py


def model_keyword_names(name: str) -> set[str]:
    """The keyword arguments ``build_model(name, ...)`` accepts besides ``pretrained``
    (what a checkpoint's ``model_kwargs`` may hold)."""
    if name == TWO_STREAM:
        decoder_class, common = TwoStreamSegmenter, set()
    elif name in _DECODERS:
        decoder_class, common = _DECODERS[name][0], {"encoder", "in_channels", "dilated"}
    else:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODEL_NAMES)}")
    own = inspect.signature(decoder_class.__init__).parameters
    return common | (set(own) - {"self", "encoder", "num_classes", "pretrained"})


def build_model(
    name: str,
    num_classes: int,
    *,
    encoder: str | None = None,
    in_channels: int = 3,
    dilated: bool | None = None,
    pretrained: bool = False,
    **decoder_kwargs: Any,
) -> nn.Module:
    """Build a segmentation model; the encoder starts from ImageNet if ``pretrained``.

    Args:
        name: one of ``MODEL_NAMES``, or ``TWO_STREAM`` (whose keyword arguments are
            those of ``TwoStreamSegmenter``).
        num_classes: number of output classes.
        encoder: backbone name (``ENCODER_NAMES``); each model has a default.
        in_channels: input channels.
        dilated: dilate the encoder's last stage(s); None = the decoder's default
            (DeepLab and LR-ASPP dilate, FCN-8s and U-Net do not).
        pretrained: load ImageNet weights into the encoder (``PRETRAINED_ENCODERS``).
            A checkpoint carries all weights, so loading one never needs this.
        **decoder_kwargs: passed to the decoder (e.g. ``aspp_channels``).
    """
    if name == TWO_STREAM:
        if encoder is not None or in_channels != 3:
            raise ValueError("two_stream takes appearance_encoder/motion_encoder instead")
        if dilated is not None:
            decoder_kwargs["dilated"] = dilated
        return TwoStreamSegmenter(num_classes, pretrained=pretrained, **decoder_kwargs)
    if name not in _DECODERS:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODEL_NAMES)}")
    if num_classes < 1:
        raise ValueError(f"num_classes must be positive, got {num_classes}")
    decoder_class, default_encoder, default_dilated = _DECODERS[name]
    backbone = build_encoder(
        encoder or default_encoder,
        dilated=default_dilated if dilated is None else dilated,
        in_channels=in_channels,
        pretrained=pretrained,
    )
    return decoder_class(backbone, num_classes, **decoder_kwargs)
