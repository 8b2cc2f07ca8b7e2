"""Train the two-stream model's foreground head (and motion encoder) on one DAVIS fold.

The checkpoint records the sequences it was trained on, so ``eval-motion`` scores each
sequence only with a checkpoint that never saw it. There is no validation split (all
20 sequences are either trained on or tested on): the final epoch is the result.
"""

from __future__ import annotations

import dataclasses
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..checkpoint import DEFAULT_CHECKPOINT, MOBILENET_CHECKPOINT, load_model
from ..classes import CAMVID
from ..data.davis_motion import DavisMotionFrames, load_motion_frames
from ..models import TWO_STREAM, TwoStreamSegmenter, build_model
from ..motion import FlowEstimator
from .fold_training import FoldTraining, train_fold
from .motion_config import MotionTrainConfig
from .run_state import start_run

__all__ = ["foreground_loss", "train_motion"]


def foreground_loss(logits: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Binary cross entropy plus soft Dice (Dice keeps small objects from vanishing)."""
    bce = F.binary_cross_entropy_with_logits(logits, masks)
    probs = torch.sigmoid(logits)
    inter = (probs * masks).sum(dim=(1, 2, 3))
    dice = 1 - (2 * inter + 1) / (probs.sum(dim=(1, 2, 3)) + masks.sum(dim=(1, 2, 3)) + 1)
    return bce + dice.mean()


def build_motion_model(config: MotionTrainConfig) -> TwoStreamSegmenter:
    """The model of a config, with the appearance stream loaded (and frozen) as asked."""
    model = build_model(
        TWO_STREAM,
        CAMVID.num_classes,
        use_flow=config.use_flow,
        pretrained=config.pretrained,
        **config.model_kwargs,
    )
    if config.init_segmentation:
        named = {"default": DEFAULT_CHECKPOINT, "mobilenet": MOBILENET_CHECKPOINT}
        path = named.get(config.init_segmentation, config.init_segmentation)
        segmentation, _ = load_model(path, expected_classes=CAMVID)
        model.load_appearance_from(segmentation.state_dict())
    if config.freeze_appearance:
        for module in (model.appearance, model.semantic_head):
            module.requires_grad_(False)
    return model


def _parameter_groups(model: TwoStreamSegmenter, config: MotionTrainConfig) -> list[dict]:
    """The trainable parameters; the appearance encoder at ``appearance_lr`` if set."""
    appearance = {id(p) for p in model.appearance.parameters()}
    trainable = [p for p in model.parameters() if p.requires_grad]
    own = [p for p in trainable if id(p) in appearance]
    rest = [p for p in trainable if id(p) not in appearance]
    if not own or config.appearance_lr is None:
        return [{"params": trainable, "lr": config.lr}]
    return [{"params": rest, "lr": config.lr}, {"params": own, "lr": config.appearance_lr}]


def _set_train_mode(model: TwoStreamSegmenter, config: MotionTrainConfig) -> None:
    model.train()
    if config.freeze_appearance:  # frozen BatchNorm statistics too
        model.appearance.eval()
        model.semantic_head.eval()


def _payload(config: MotionTrainConfig, model: nn.Module, fold: str) -> dict:
    return {
        "model_name": TWO_STREAM,
        "model_kwargs": {"use_flow": config.use_flow, **config.model_kwargs},
        "class_names": list(CAMVID.names),
        "palette": [list(c) for c in CAMVID.colors],
        "state_dict": model.state_dict(),
        "config": dataclasses.asdict(config),
        "fold": fold,
        "train_sequences": config.training_sequences(fold),
        "input_size": list(config.input_size),
        "flow": {"method": config.flow_method, "preset": config.flow_preset},
    }


def train_motion(
    config: MotionTrainConfig,
    data_root: Path,
    fold: str,
    resume: bool = False,
    device: str = "auto",
) -> Path:
    """Train on ``fold``'s sequences; returns ``<out_dir>/fold_<fold>/final.pt``."""
    dev = start_run(config.seed, config.threads, device)
    estimator = FlowEstimator(config.flow_method, config.flow_preset)
    frames = load_motion_frames(
        data_root,
        config.training_sequences(fold),
        config.input_size,
        estimator,
        config.frame_limit,
    )
    dataset = DavisMotionFrames(frames, augment=True, rng=np.random.default_rng(config.seed))
    model = build_motion_model(config).to(dev)

    def batch_loss(images: torch.Tensor, flows: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        images, flows, masks = images.to(dev), flows.to(dev), masks.to(dev)
        out = model(images, flows if config.use_flow else None)
        return foreground_loss(out["foreground"], masks)

    parts = FoldTraining(
        model,
        _parameter_groups(model, config),
        batch_loss,
        train_mode=partial(_set_train_mode, model, config),
        payload=partial(_payload, config, model, fold),
    )
    return train_fold(config, fold, dataset, parts, resume)
