"""Train the VOS parent: binary foreground on one DAVIS fold, from the CamVid model.

The checkpoint records its training sequences, so ``eval-vos`` runs each sequence with
the parent that never saw it. There is no validation split (all 20 sequences are
trained on or tested on): the final epoch is the result.
"""

from __future__ import annotations

import dataclasses
import os
from functools import partial
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset
from tqdm import tqdm

from ..checkpoint import DEFAULT_CHECKPOINT
from ..data.davis import load_sequence
from ..data.transforms import TrainTransform
from ..vos.foreground_loss import masked_foreground_loss
from ..vos.foreground_net import (
    VOS_CLASS_NAMES,
    foreground_net_from_segmentation,
    freeze_batchnorm,
    freeze_early_stages,
)
from .fold_training import FoldTraining, train_fold
from .run_state import start_run
from .vos_config import VOSParentConfig

__all__ = ["train_vos_parent", "load_fold_frames"]

PALETTE = [[255, 64, 0]]


def load_fold_frames(
    data_root: str | os.PathLike,
    sequences: list[str],
    size: tuple[int, int],
    frame_limit: int | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Every (RGB, 0/1 mask) pair of ``sequences`` resized to ``size`` (width, height)."""
    pairs = []
    for name in tqdm(sequences, desc="frames", leave=False):
        sequence = load_sequence(data_root, name)
        count = len(sequence) if frame_limit is None else min(len(sequence), frame_limit)
        for index in range(count):
            rgb = cv2.resize(sequence.frame(index), size, interpolation=cv2.INTER_AREA)
            mask = sequence.mask(index).astype(np.uint8)
            pairs.append((rgb, cv2.resize(mask, size, interpolation=cv2.INTER_NEAREST)))
    return pairs


class _ForegroundFrames(Dataset):
    def __init__(self, pairs: list[tuple[np.ndarray, np.ndarray]], transform: TrainTransform):
        self.pairs, self.transform = pairs, transform

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.transform(*self.pairs[index])


def _payload(config: VOSParentConfig, model: torch.nn.Module, kwargs: dict, fold: str) -> dict:
    return {
        "model_name": "lraspp",
        "model_kwargs": kwargs,
        "class_names": list(VOS_CLASS_NAMES),
        "palette": PALETTE,
        "state_dict": model.state_dict(),
        "config": dataclasses.asdict(config),
        "fold": fold,
        "train_sequences": config.training_sequences(fold),
        "input_size": list(config.input_size),
    }


def train_vos_parent(
    config: VOSParentConfig, data_root: Path, fold: str, resume: bool = False, device: str = "auto"
) -> Path:
    """Train on ``fold``'s sequences; returns ``<out_dir>/fold_<fold>/final.pt``."""
    dev = start_run(config.seed, config.threads, device)
    pairs = load_fold_frames(
        data_root, config.training_sequences(fold), config.input_size, config.frame_limit
    )
    transform = TrainTransform(
        config.crop_size,
        config.scale_range,
        config.color_jitter,
        rng=np.random.default_rng(config.seed),
    )
    dataset = _ForegroundFrames(pairs, transform)
    init = (
        DEFAULT_CHECKPOINT if config.init_segmentation == "default" else config.init_segmentation
    )
    model, kwargs = foreground_net_from_segmentation(init)
    model = model.to(dev)
    freeze_batchnorm(model)
    freeze_early_stages(model, config.frozen_stages)
    trainable = [p for p in model.parameters() if p.requires_grad]

    def batch_loss(images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return masked_foreground_loss(model(images.to(dev))["out"], labels.to(dev))

    def train_mode() -> None:
        model.train()
        freeze_batchnorm(model)

    parts = FoldTraining(
        model,
        [{"params": trainable, "lr": config.lr}],
        batch_loss,
        train_mode,
        payload=partial(_payload, config, model, kwargs, fold),
    )
    return train_fold(config, fold, dataset, parts, resume, half_final=True)
