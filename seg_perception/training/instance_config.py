"""Configuration of a Mask R-CNN training run on CamVid's derived instances."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from ..io_utils import load_config

__all__ = ["InstanceTrainConfig", "load_instance_config"]


@dataclass
class InstanceTrainConfig:
    """Mask R-CNN on CamVid: thing classes, derivation, schedule."""

    thing_classes: list[str] = field(default_factory=lambda: ["Car", "Pedestrian", "Bicyclist"])
    min_area: int = 50  # smallest derived instance, pixels at 480x360
    # segmentation checkpoint whose encoder starts the backbone: "default" (the bundled
    # MobileNetV3-Large LR-ASPP, checkpoint.MOBILENET_CHECKPOINT), "" (random)
    init_segmentation: str = "default"
    # build_maskrcnn arguments: fpn_channels, min_size (train sizes), max_size, test_size
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    train_split: str = "train+val"
    epochs: int = 8
    batch_size: int = 2
    lr: float = 2e-4
    weight_decay: float = 1e-4
    warmup_steps: int = 200
    grad_clip: float = 10.0
    hflip: bool = True
    seed: int = 0
    threads: int = 0
    time_budget_minutes: float = 0.0
    train_limit: int | None = None
    out_dir: str = "runs/maskrcnn_camvid"

    def __post_init__(self) -> None:
        if not self.thing_classes:
            raise ValueError("thing_classes must name at least one class")
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ValueError("epochs, batch_size and lr must be positive")
        if self.min_area < 1:
            raise ValueError(f"min_area must be >= 1, got {self.min_area}")


def load_instance_config(path: str | os.PathLike, **overrides: Any) -> InstanceTrainConfig:
    """Read an instance training config (see ``io_utils.load_config``)."""
    return load_config(InstanceTrainConfig, path, **overrides)
