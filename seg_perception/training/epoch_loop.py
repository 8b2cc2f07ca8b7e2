"""The epoch loop every trainer runs: resume from ``last.pt``, train an epoch, validate
it (``best.pt``), log it, save ``last.pt``, stop on the time budget, save the result.

A trainer describes its run (``EpochRun``) and hands over one callable that trains an
epoch and returns the loss columns of its log row; the loop owns everything around it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import nn
from tqdm import tqdm

from ..checkpoint import save_checkpoint
from .distributed import DistContext, unwrap
from .run_log import log_epoch
from .run_state import resume_from

__all__ = ["EpochRun", "Schedule", "Validation", "run_epochs"]

Row = dict[str, Any]


@dataclass
class Validation:
    """Best-on-validation selection: ``best.pt`` holds the epoch of the highest score.

    Args:
        evaluate: the validation columns of the epoch's row; the first is the score.
        columns: their names, in the log's order.
        every: epochs between validations; the final epoch (and the one the time budget
            ends) validates too.
        select_on_val: False: the final (or budget-ending) epoch is ``best.pt`` whatever
            its score (validation was trained on).
    """

    evaluate: Callable[[], Row]
    columns: tuple[str, ...]
    every: int = 1
    select_on_val: bool = True


class Schedule(Protocol):
    """What the loop reads of a trainer's config."""

    epochs: int
    time_budget_minutes: float  # stop (and save) after this long; 0 = no limit


@dataclass
class EpochRun:
    """A trainer's run as the loop sees it.

    Args:
        schedule: the trainer's config.
        out_dir: where ``log.csv``, ``last.pt`` and ``final.pt`` (or ``best.pt``) go.
        payload: the checkpoint of the model as it is now, without the training state.
        half_final: write ``final.pt`` in half precision.
        ctx: the data-parallel context: rank 0 validates, logs and saves; every rank stops
            after the same epoch.
    """

    schedule: Schedule
    out_dir: Path
    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    payload: Callable[[], dict[str, Any]]
    half_final: bool = False
    ctx: DistContext = field(default_factory=DistContext)


class _BestOnVal:
    """Validation bookkeeping: the best score so far, every row logged, ``best.pt``."""

    def __init__(self, validation: Validation, best_path: Path, resumed: Row | None) -> None:
        self.validation, self.best_path = validation, best_path
        self.best_score = resumed["best_score"] if resumed else -1.0
        self.history: list[Row] = resumed.get("history", []) if resumed else []

    def record(self, row: Row, ends: bool, payload: dict[str, Any]) -> Row:
        """Validate into ``row`` when due (``ends``: the run's last epoch), save ``best.pt``
        on a new best; the keys ``last.pt`` keeps to select on after a resume."""
        validation = self.validation
        if (row["epoch"] + 1) % validation.every == 0 or ends:
            row.update(validation.evaluate())
            score = row[validation.columns[0]]
            if score > self.best_score or (ends and not validation.select_on_val):
                self.best_score = score
                save_checkpoint(
                    self.best_path, {**payload, "epoch": row["epoch"], "best_score": score}
                )
        self.history.append(row)
        return {"best_score": self.best_score, "history": self.history}


def _out_of_time(started: float, budget_minutes: float) -> bool:
    return budget_minutes > 0 and time.monotonic() - started > 60 * budget_minutes


def run_epochs(
    run: EpochRun,
    train_epoch: Callable[[int], Row],
    resume: bool = False,
    validation: Validation | None = None,
) -> Path:
    """Train the schedule's epochs (fewer when its time budget ends the run), continuing
    from ``last.pt`` with ``resume``; returns ``best.pt`` with ``validation``, else
    ``final.pt`` (the last epoch).

    ``train_epoch(epoch)`` trains one epoch and returns its loss columns; the row logged is
    ``epoch``, those, ``seconds`` and the validation columns. With ``validation``,
    ``last.pt`` also keeps the best score and every row, so a resumed run selects on.
    """
    run.out_dir.mkdir(parents=True, exist_ok=True)
    last_path, state = run.out_dir / "last.pt", None
    if resume and last_path.is_file():
        model = unwrap(run.model)
        state = resume_from(last_path, model, run.optimizer, run.scheduler, run.ctx.is_main)
    start_epoch = state["epoch"] + 1 if state else 0
    best = _BestOnVal(validation, run.out_dir / "best.pt", state) if validation else None

    epochs, budget = run.schedule.epochs, run.schedule.time_budget_minutes
    started, epoch = time.monotonic(), start_epoch - 1
    for epoch in range(start_epoch, epochs):
        epoch_start = time.monotonic()
        losses = train_epoch(epoch)
        row = {"epoch": epoch, **losses, "seconds": round(time.monotonic() - epoch_start, 1)}
        columns = [*row, *(validation.columns if validation else ())]
        final = epoch == epochs - 1
        out_of_time = run.ctx.broadcast_flag(_out_of_time(started, budget))
        if run.ctx.is_main:
            payload = run.payload()
            selection = best.record(row, final or out_of_time, payload) if best is not None else {}
            log_epoch(run.out_dir / "log.csv", row, columns)
            training_state = {
                "optimizer": run.optimizer.state_dict(),
                "scheduler": run.scheduler.state_dict(),
                "epoch": epoch,
            }
            save_checkpoint(last_path, {**payload, **training_state, **selection})
        run.ctx.barrier()
        if out_of_time and not final:
            if run.ctx.is_main:
                tqdm.write(f"time budget of {budget} min reached after epoch {epoch}")
            break
    if best is not None:
        return best.best_path
    final_path = run.out_dir / "final.pt"
    if run.ctx.is_main:
        save_checkpoint(final_path, {**run.payload(), "epoch": epoch}, half=run.half_final)
    return final_path
