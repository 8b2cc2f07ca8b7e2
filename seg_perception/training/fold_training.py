"""What the DAVIS fold trainers (train-motion, train-vos-parent) share once their frames
and model are built: shuffled batches, AdamW on a one-cycle schedule, the mean loss of
each epoch, and the epoch loop writing to ``<out_dir>/fold_<fold>``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from .davis_folds import FoldRunConfig
from .epoch_loop import EpochRun, run_epochs

__all__ = ["FoldTraining", "train_fold"]


@dataclass
class FoldTraining:
    """A fold trainer's own parts.

    Args:
        model: on its device.
        param_groups: AdamW parameter groups, each with its ``lr`` (the one-cycle peak).
        batch_loss: the loss of one batch as the loader yields it (moved to the device).
        train_mode: put the model in training mode (frozen parts stay in eval).
        payload: the checkpoint of the model as it is now.
    """

    model: nn.Module
    param_groups: list[dict[str, Any]]
    batch_loss: Callable[..., torch.Tensor]
    train_mode: Callable[[], None]
    payload: Callable[[], dict[str, Any]]


def train_fold(
    config: FoldRunConfig,
    fold: str,
    dataset: Dataset,
    parts: FoldTraining,
    resume: bool = False,
    half_final: bool = False,
) -> Path:
    """Train on ``dataset`` (the fold's frames); returns ``<out_dir>/fold_<fold>/final.pt``."""
    loader = DataLoader(
        dataset,
        batch_size=config.batch_size,
        shuffle=True,
        drop_last=len(dataset) >= config.batch_size,
        generator=torch.Generator().manual_seed(config.seed),
    )
    groups = parts.param_groups
    optimizer = torch.optim.AdamW(groups, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer,
        max_lr=[group["lr"] for group in groups],
        total_steps=config.epochs * len(loader),
        pct_start=0.1,
    )

    def train_epoch(epoch: int) -> dict[str, float]:
        parts.train_mode()
        total, count = 0.0, 0
        progress = tqdm(loader, desc=f"fold {fold} epoch {epoch}", leave=False, dynamic_ncols=True)
        for batch in progress:
            loss = parts.batch_loss(*batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            total += loss.item() * batch[0].shape[0]
            count += batch[0].shape[0]
            progress.set_postfix(loss=f"{loss.item():.3f}")
        return {"loss": round(total / max(count, 1), 5)}

    out_dir = Path(config.out_dir) / f"fold_{fold}"
    run = EpochRun(config, out_dir, parts.model, optimizer, scheduler, parts.payload, half_final)
    return run_epochs(run, train_epoch, resume)
