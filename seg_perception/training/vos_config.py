"""Configuration of a VOS parent training run on one DAVIS fold, read from YAML."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from ..io_utils import load_config
from .davis_folds import check_folds, fold_sequences

__all__ = ["VOSParentConfig", "load_vos_parent_config"]


@dataclass
class VOSParentConfig:
    """Binary foreground training of the one-logit LR-ASPP on one DAVIS fold."""

    folds: dict[str, list[str]] = field(default_factory=dict)  # fold name -> sequences
    # segmentation checkpoint whose encoder (and gated branch) start the parent; "default"
    # is the bundled CamVid model (ImageNet EfficientNet-Lite0, then CamVid)
    init_segmentation: str = "default"
    input_size: tuple[int, int] = (432, 240)  # (width, height) frames are resized to
    crop_size: tuple[int, int] = (192, 336)  # (height, width) random training crops
    scale_range: tuple[float, float] = (0.7, 1.3)
    color_jitter: float = 0.2
    frozen_stages: int = 2
    epochs: int = 10
    batch_size: int = 6
    lr: float = 3e-4
    weight_decay: float = 1e-4
    seed: int = 0
    threads: int = 0
    time_budget_minutes: float = 0.0
    frame_limit: int | None = None  # frames per sequence (smoke runs)
    out_dir: str = "runs/vos/parent"

    def __post_init__(self) -> None:
        self.input_size = tuple(self.input_size)  # type: ignore[assignment]
        self.crop_size = tuple(self.crop_size)  # type: ignore[assignment]
        self.scale_range = tuple(self.scale_range)  # type: ignore[assignment]
        check_folds(self.folds)
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ValueError("epochs, batch_size and lr must be positive")
        if min(self.input_size) < 32 or min(self.crop_size) < 32:
            raise ValueError("input_size and crop_size must be at least 32 pixels")

    def training_sequences(self, fold: str) -> list[str]:
        return fold_sequences(self.folds, fold)


def load_vos_parent_config(path: str | os.PathLike, **overrides) -> VOSParentConfig:
    """Read a VOS parent config (see ``io_utils.load_config``)."""
    return load_config(VOSParentConfig, path, **overrides)
