"""What every epoch-based trainer does around its loop: seed, threads and device,
resume from ``last.pt``, and at the end of an epoch log it, save ``last.pt`` and check the
time budget."""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from ..checkpoint import load_checkpoint, save_checkpoint
from ..device import select_device
from .run_log import log_epoch

__all__ = ["start_run", "resume_from", "finish_epoch"]


def start_run(seed: int, threads: int, device: str) -> torch.device:
    """Seed Python's, NumPy's and torch's generators, set torch's CPU threads (0 leaves
    the default) and return the device (``auto``, ``cpu`` or ``cuda[:N]``)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if threads:
        torch.set_num_threads(threads)
    return select_device(device)


def resume_from(last_path: Path, model: nn.Module, optimizer, scheduler) -> int:
    """Load model, optimizer and scheduler state from ``last_path``; the next epoch.

    Raises:
        ValueError: a one-cycle schedule (its length is in its state) of another length
            than ``scheduler``'s: it cannot be stretched, the run must keep its schedule.
    """
    state = load_checkpoint(last_path)
    model.load_state_dict(state["state_dict"])
    optimizer.load_state_dict(state["optimizer"])
    planned = getattr(scheduler, "total_steps", None)
    scheduler.load_state_dict(state["scheduler"])
    if planned is not None and scheduler.total_steps != planned:
        raise ValueError(
            f"{last_path} follows a one-cycle schedule of {scheduler.total_steps} steps, "
            f"this run plans {planned}: resume with the same epochs, batch size and data"
        )
    tqdm.write(f"resumed from {last_path} at epoch {state['epoch'] + 1}")
    return state["epoch"] + 1


def finish_epoch(
    out_dir: Path,
    row: dict[str, Any],
    payload: dict[str, Any],
    optimizer,
    scheduler,
    started: float,
    budget_minutes: float,
    epochs: int,
) -> bool:
    """Log ``row``, save ``out_dir/last.pt`` (``payload`` plus the training state) and
    return True when the time budget ends training before its last epoch."""
    epoch = row["epoch"]
    log_epoch(out_dir / "log.csv", row, list(row))
    state = {
        **payload,
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "epoch": epoch,
    }
    save_checkpoint(out_dir / "last.pt", state)
    out_of_time = budget_minutes > 0 and time.monotonic() - started > 60 * budget_minutes
    if out_of_time and epoch < epochs - 1:
        tqdm.write(f"time budget of {budget_minutes} min reached after epoch {epoch}")
        return True
    return False
