"""What every trainer does before its first epoch: seed, threads and device, and resume
from ``last.pt``."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from ..checkpoint import load_checkpoint
from ..device import select_device

__all__ = ["start_run", "resume_from"]


def start_run(seed: int, threads: int, device: str) -> torch.device:
    """Seed Python's, NumPy's and torch's generators, set torch's CPU threads (0 leaves
    the default) and return the device (``auto``, ``cpu`` or ``cuda[:N]``)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if threads:
        torch.set_num_threads(threads)
    return select_device(device)


def resume_from(
    last_path: Path, model: nn.Module, optimizer, scheduler, announce: bool = True
) -> dict[str, Any]:
    """Load model, optimizer and scheduler state from ``last_path``; the checkpoint (its
    ``epoch`` is the last one trained). ``announce``: say so on the console.

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
    if announce:
        tqdm.write(f"resumed from {last_path} at epoch {state['epoch'] + 1}")
    return state
