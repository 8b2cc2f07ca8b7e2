"""The foreground network: LR-ASPP with one output (object logit) on the CamVid model's
pretrained encoder, and the small helpers every VOS trainer shares."""

from __future__ import annotations

import os
from typing import Any

import cv2
import numpy as np
import torch
from torch import nn

from ..checkpoint import CheckpointError, load_model
from ..models import build_model
from ..models.normalization import normalize_image

__all__ = [
    "VOS_CLASS_NAMES",
    "foreground_net_from_segmentation",
    "freeze_batchnorm",
    "freeze_early_stages",
    "load_vos_parent",
    "network_input",
]

VOS_CLASS_NAMES = ("object",)  # one logit: sigmoid = P(pixel is the target object)
_CLASSIFIER_KEYS = ("head.low_classifier.", "head.high_classifier.")


def foreground_net_from_segmentation(path: str | os.PathLike) -> tuple[nn.Module, dict[str, Any]]:
    """A one-logit LR-ASPP whose encoder and gated branch come from a segmentation
    checkpoint (LR-ASPP); only the two 1x1 classifiers start fresh.

    Returns the network (train mode) and its ``model_kwargs``.
    """
    segmentation, payload = load_model(path)
    if payload["model_name"] != "lraspp":
        raise CheckpointError(
            f"{path}: VOS needs an lraspp checkpoint, not {payload['model_name']}"
        )
    kwargs = {k: v for k, v in payload["model_kwargs"].items() if k != "classifier"}
    net = build_model("lraspp", len(VOS_CLASS_NAMES), **kwargs)
    shared = {
        k: v for k, v in segmentation.state_dict().items() if not k.startswith(_CLASSIFIER_KEYS)
    }
    missing, _ = net.load_state_dict(shared, strict=False)
    fresh = [k for k in missing if not k.startswith(_CLASSIFIER_KEYS)]
    if fresh:
        raise CheckpointError(f"{path}: {len(fresh)} encoder weights missing, e.g. {fresh[0]}")
    return net.train(), kwargs


def load_vos_parent(path: str | os.PathLike) -> tuple[nn.Module, dict[str, Any]]:
    """A parent checkpoint written by ``train-vos-parent`` (eval mode) and its payload."""
    model, payload = load_model(path)
    if tuple(payload["class_names"]) != VOS_CLASS_NAMES or "train_sequences" not in payload:
        raise CheckpointError(f"{path} is not a VOS parent checkpoint (train-vos-parent)")
    return model, payload


def freeze_batchnorm(model: nn.Module) -> nn.Module:
    """Keep every BatchNorm in eval mode with fixed affine weights: batches of one or two
    frames cannot estimate statistics."""
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.eval()
            module.requires_grad_(False)
    return model


def freeze_early_stages(model: nn.Module, stages: int) -> None:
    """Fix the stem and the first ``stages`` blocks of an EfficientNet-Lite encoder (the
    high-resolution layers: generic edges, the costliest to back-propagate)."""
    trunk = getattr(model.encoder.body, "trunk", None)
    if trunk is None:
        if stages:
            raise ValueError("freeze_early_stages needs an EfficientNet-Lite encoder")
        return
    for module in (trunk.conv_stem, trunk.bn1, *list(trunk.blocks)[:stages]):
        module.requires_grad_(False)


def network_input(rgb: np.ndarray, size: tuple[int, int]) -> torch.Tensor:
    """(1, 3, h, w) normalised tensor of an RGB frame resized to ``size`` (width, height)."""
    if (rgb.shape[1], rgb.shape[0]) != tuple(size):
        rgb = cv2.resize(rgb, tuple(size), interpolation=cv2.INTER_AREA)
    return normalize_image(np.ascontiguousarray(rgb))[None]


def upsample_probability(probability: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of a probability map to ``shape`` (height, width)."""
    return cv2.resize(probability, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)
