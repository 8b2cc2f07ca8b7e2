"""Configuration of a two-stream (motion) training run on DAVIS folds, read from YAML."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from ..io_utils import load_config
from ..motion import DIS_PRESETS, FLOW_METHODS
from .davis_folds import check_folds, fold_sequences

__all__ = ["MotionTrainConfig", "load_motion_config"]


@dataclass
class MotionTrainConfig:
    """Foreground (moving object) training of ``TwoStreamSegmenter`` on one DAVIS fold."""

    folds: dict[str, list[str]] = field(default_factory=dict)  # fold name -> sequences
    use_flow: bool = True  # false: the single-stream (appearance-only) baseline
    # segmentation checkpoint for the appearance encoder and semantic head: "default" is the
    # node's bundled model (EfficientNet-Lite0 LR-ASPP, checkpoint.DEFAULT_CHECKPOINT),
    # "mobilenet" the earlier MobileNetV3-Large one, "" random weights, else a path
    init_segmentation: str = "default"
    freeze_appearance: bool = True
    # learning rate of the appearance encoder when it is not frozen (None: lr)
    appearance_lr: float | None = None
    # ImageNet weights for each EfficientNet-Lite encoder before the appearance stream is
    # loaded: what the motion encoder starts from (its first convolution adapted to flow)
    pretrained: bool = False
    model_kwargs: dict[str, Any] = field(default_factory=dict)  # e.g. {inter_channels: 64}
    input_size: tuple[int, int] = (432, 240)  # (width, height) the network sees
    flow_method: str = "dis"
    flow_preset: str = "fast"
    epochs: int = 8
    batch_size: int = 8
    lr: float = 1e-3
    weight_decay: float = 1e-4
    seed: int = 0
    threads: int = 0
    time_budget_minutes: float = 0.0
    frame_limit: int | None = None  # frames per sequence (smoke runs)
    out_dir: str = "runs/motion/two_stream"

    def __post_init__(self) -> None:
        self.input_size = tuple(self.input_size)  # type: ignore[assignment]
        check_folds(self.folds)
        if self.flow_method not in FLOW_METHODS:
            raise ValueError(f"unknown flow_method {self.flow_method!r}")
        if self.flow_preset not in DIS_PRESETS:
            raise ValueError(f"unknown flow_preset {self.flow_preset!r}")
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ValueError("epochs, batch_size and lr must be positive")
        if min(self.input_size) < 32:
            raise ValueError(f"input_size {self.input_size} is too small")

    def training_sequences(self, fold: str) -> list[str]:
        return fold_sequences(self.folds, fold)


def load_motion_config(path: str | os.PathLike, **overrides: Any) -> MotionTrainConfig:
    """Read a motion training config (see ``io_utils.load_config``)."""
    return load_config(MotionTrainConfig, path, **overrides)
