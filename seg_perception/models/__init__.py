"""Model zoo: one builder, ``build_model(name, num_classes, **kwargs)``, used everywhere.

Every model maps (B, C, H, W) images to ``{"out": (B, num_classes, H, W)}`` logits.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
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


@dataclass(frozen=True)
class _Model:
    """A model of the table: the class its keyword arguments are read from, how to build
    it, the keywords of ``build_model`` it takes, its default encoder; ``video``: it takes
    (image, flow), not one image."""

    network: type[nn.Module]
    build: Callable[..., nn.Module]
    keywords: frozenset[str]
    default_encoder: str | None = None
    video: bool = False


def _image_model(decoder: type[nn.Module], default_encoder: str, dilate: bool) -> _Model:
    """A decoder over an encoder backbone (``dilate``: its default for the last stages)."""

    def build(num_classes, encoder, in_channels, dilated, pretrained, **decoder_kwargs):
        backbone = build_encoder(
            encoder or default_encoder,
            dilated=dilate if dilated is None else dilated,
            in_channels=in_channels,
            pretrained=pretrained,
        )
        return decoder(backbone, num_classes, **decoder_kwargs)

    return _Model(
        decoder, build, frozenset({"encoder", "in_channels", "dilated"}), default_encoder
    )


def _build_two_stream(num_classes, encoder, in_channels, dilated, pretrained, **kwargs):
    if encoder is not None or in_channels != 3:
        raise ValueError("two_stream takes appearance_encoder/motion_encoder instead")
    if dilated is not None:
        kwargs["dilated"] = dilated
    return TwoStreamSegmenter(num_classes, pretrained=pretrained, **kwargs)


TWO_STREAM = "two_stream"  # video model: forward(image, flow), see two_stream.py
_MODELS: dict[str, _Model] = {
    "fcn8s": _image_model(FCN8s, "resnet18", dilate=False),
    "unet": _image_model(UNet, "resnet18", dilate=False),
    "deeplabv3plus": _image_model(DeepLabV3Plus, "mobilenet_v3_large", dilate=True),
    "lraspp": _image_model(LRASPP, "mobilenet_v3_large", dilate=True),
    TWO_STREAM: _Model(TwoStreamSegmenter, _build_two_stream, frozenset(), video=True),
}
MODEL_NAMES = tuple(name for name, model in _MODELS.items() if not model.video)  # one image in
DEFAULT_ENCODERS = {name: _MODELS[name].default_encoder for name in MODEL_NAMES}


def _model(name: str) -> _Model:
    if name not in _MODELS:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODEL_NAMES)}")
    return _MODELS[name]


def model_keyword_names(name: str) -> set[str]:
    """The keyword arguments ``build_model(name, ...)`` accepts besides ``pretrained``
    (what a checkpoint's ``model_kwargs`` may hold)."""
    model = _model(name)
    own = inspect.signature(model.network.__init__).parameters
    return set(model.keywords) | (set(own) - {"self", "encoder", "num_classes", "pretrained"})


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
    model = _model(name)
    if num_classes < 1:
        raise ValueError(f"num_classes must be positive, got {num_classes}")
    return model.build(num_classes, encoder, in_channels, dilated, pretrained, **decoder_kwargs)
