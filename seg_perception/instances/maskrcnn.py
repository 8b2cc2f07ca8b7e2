"""Mask R-CNN (torchvision) on a light MobileNetV3-Large FPN, for CamVid's thing classes.

The backbone can start from the bundled CamVid segmentation encoder (trained here from
scratch; no ImageNet weights exist on this machine). Its BatchNorm layers are frozen:
detection batches of a few images give poor batch statistics.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np
import torch
from torch import nn
from torchvision.models import mobilenet_v3_large
from torchvision.models.detection import MaskRCNN
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.backbone_utils import BackboneWithFPN
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.models.detection.mask_rcnn import MaskRCNNHeads, MaskRCNNPredictor
from torchvision.ops import FrozenBatchNorm2d
from torchvision.ops.feature_pyramid_network import FeaturePyramidNetwork, LastLevelMaxPool

from ..checkpoint import CheckpointError, load_checkpoint, load_weights
from ..models.encoders import build_encoder
from .components import Instance

__all__ = [
    "MASKRCNN",
    "build_maskrcnn",
    "load_encoder_into_backbone",
    "load_instance_model",
    "detect_instances",
]

MASKRCNN = "maskrcnn"
# MobileNetV3-Large blocks whose outputs feed the FPN: strides 4, 8, 16 and 32
_RETURN_BLOCKS = {"3": "0", "6": "1", "12": "2", "15": "3"}
_BLOCK_CHANNELS = [24, 40, 112, 160]


class _EncoderWithFPN(nn.Module):
    """A zoo encoder's strides 4..32 through an FPN (plus a stride-64 max-pool level)."""

    def __init__(self, encoder: nn.Module, fpn_channels: int):
        super().__init__()
        self.body = encoder
        self.levels = ("c2", "c3", "c4", "c5")
        self.fpn = FeaturePyramidNetwork(
            [encoder.channels[level] for level in self.levels],
            fpn_channels,
            extra_blocks=LastLevelMaxPool(),
        )
        self.out_channels = fpn_channels

    def forward(self, x: torch.Tensor) -> OrderedDict[str, torch.Tensor]:
        features = self.body(x)
        return self.fpn(OrderedDict((str(i), features[k]) for i, k in enumerate(self.levels)))


def _backbone(name: str, pretrained: bool, fpn_channels: int) -> nn.Module:
    if name == "mobilenet_v3_large":
        if pretrained:
            raise ValueError("no ImageNet weights for mobilenet_v3_large here")
        features = mobilenet_v3_large(
            weights=None, norm_layer=partial(FrozenBatchNorm2d, eps=0.001)
        ).features[:16]
        # adds a stride-64 max-pool level
        return BackboneWithFPN(features, _RETURN_BLOCKS, _BLOCK_CHANNELS, fpn_channels)
    return _EncoderWithFPN(build_encoder(name, pretrained=pretrained), fpn_channels)


def build_maskrcnn(
    num_things: int,
    fpn_channels: int = 128,
    min_size: int | Sequence[int] = 360,
    max_size: int = 640,
    test_size: int = 360,
    backbone: str = "mobilenet_v3_large",
    pretrained_backbone: bool = False,
) -> MaskRCNN:
    """A Mask R-CNN for ``num_things`` object classes (+ background).

    Args:
        num_things: object classes (torchvision label k in 1..num_things).
        fpn_channels: width of the FPN and of the RoI heads.
        min_size: shorter image side while training (one size or a choice of sizes).
        max_size: longest side cap.
        test_size: shorter side at inference (CamVid frames are 360 high).
        backbone: ``mobilenet_v3_large`` (torchvision's, frozen batch norm) or a zoo
            encoder such as ``efficientnet_lite0``.
        pretrained_backbone: start the backbone from ImageNet (``PRETRAINED_ENCODERS``).
    """
    backbone_module = _backbone(backbone, pretrained_backbone, fpn_channels)
    anchors = AnchorGenerator(
        sizes=((16,), (32,), (64,), (128,), (256,)), aspect_ratios=((0.5, 1.0, 2.0),) * 5
    )
    sizes = (min_size,) if isinstance(min_size, int) else tuple(min_size)
    model = MaskRCNN(
        backbone_module,
        num_classes=None,  # the predictors below fix it
        min_size=(*sizes, test_size),  # torchvision tests at the last size
        max_size=max_size,
        rpn_anchor_generator=anchors,
        rpn_pre_nms_top_n_train=1000,
        rpn_post_nms_top_n_train=500,
        rpn_pre_nms_top_n_test=500,
        rpn_post_nms_top_n_test=300,
        box_head=TwoMLPHead(fpn_channels * 7 * 7, 512),
        box_predictor=FastRCNNPredictor(512, num_things + 1),
        box_batch_size_per_image=256,
        box_detections_per_img=50,
        mask_head=MaskRCNNHeads(fpn_channels, (fpn_channels,) * 4, 1),
        mask_predictor=MaskRCNNPredictor(fpn_channels, fpn_channels, num_things + 1),
    )
    model.test_size = test_size
    return model


def load_encoder_into_backbone(model: MaskRCNN, segmentation_state: dict[str, Any]) -> int:
    """Copy a segmentation checkpoint's MobileNetV3-Large encoder into the backbone.

    Returns:
        How many tensors were copied (0 means the encoder did not match).
    """
    body = model.backbone.body
    own = body.state_dict()
    copied = {}
    for key, value in segmentation_state.items():
        if key.startswith("encoder.body."):
            name = key[len("encoder.body.") :]
            if name in own and own[name].shape == value.shape:
                copied[name] = value.float()
    body.load_state_dict(copied, strict=False)
    return len(copied)


def load_instance_model(path: str | os.PathLike) -> tuple[MaskRCNN, dict[str, Any]]:
    """A Mask R-CNN checkpoint's model in eval mode, and its payload."""
    payload = load_checkpoint(path)
    if payload["model_name"] != MASKRCNN:
        raise CheckpointError(
            f"checkpoint {path} holds a {payload['model_name']!r} model, not {MASKRCNN!r}"
        )
    if "thing_classes" not in payload:
        raise CheckpointError(f"checkpoint {path} lacks thing_classes")
    kwargs = {**payload["model_kwargs"], "pretrained_backbone": False}  # weights are in it
    model = build_maskrcnn(len(payload["thing_classes"]), **kwargs)
    load_weights(model, payload, path)
    return model.eval(), payload


@torch.inference_mode()
def detect_instances(
    model: MaskRCNN,
    rgb: np.ndarray,
    class_ids: Sequence[int],
    score_threshold: float = 0.5,
    mask_threshold: float = 0.5,
    device: torch.device | str = "cpu",
) -> list[Instance]:
    """Run Mask R-CNN on one (H, W, 3) uint8 RGB frame.

    Args:
        class_ids: semantic class id of each torchvision label 1..K (label k -> class_ids[k-1]).
        score_threshold: detections scoring below it are dropped.
        mask_threshold: mask probability above which a pixel belongs to the instance.

    Returns:
        Instances sorted by decreasing score, masks at the frame's size.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected (H, W, 3) uint8 RGB, got {rgb.shape} {rgb.dtype}")
    image = torch.from_numpy(np.ascontiguousarray(rgb)).to(device).permute(2, 0, 1).float() / 255
    output = model([image])[0]
    keep = output["scores"] >= score_threshold
    scores = output["scores"][keep].cpu().numpy()
    labels = output["labels"][keep].cpu().numpy()
    masks = (output["masks"][keep, 0] > mask_threshold).cpu().numpy()
    instances = [
        Instance(mask, int(class_ids[label - 1]), float(score))
        for mask, label, score in zip(masks, labels, scores, strict=True)
        if mask.any()
    ]
    instances.sort(key=lambda inst: -inst.score)
    return instances
