"""The config keys every epoch-based trainer shares (train-instances, train-motion,
train-vos-parent, train-policy), and how a config is read from YAML."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Self

from ..io_utils import load_config

__all__ = ["RunConfig"]


@dataclass(kw_only=True)
class RunConfig:
    """Schedule, reproducibility and output of a run; each trainer's config gives
    ``epochs``, ``batch_size``, ``lr`` and ``out_dir`` its own defaults."""

    epochs: int
    batch_size: int
    lr: float
    weight_decay: float = 1e-4
    seed: int = 0
    threads: int = 0  # torch CPU threads; 0 keeps torch's default
    time_budget_minutes: float = 0.0  # stop (and save) after this long; 0 = no limit
    out_dir: str

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ValueError("epochs, batch_size and lr must be positive")

    @classmethod
    def load(cls, path: str | os.PathLike, **overrides: Any) -> Self:
        """Read a config from YAML (see ``io_utils.load_config``)."""
        return load_config(cls, path, **overrides)
