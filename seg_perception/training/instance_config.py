"""Configuration of a Mask R-CNN training run on CamVid's derived instances."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .run_config import RunConfig

__all__ = ["InstanceTrainConfig", "load_instance_config"]


@dataclass
class InstanceTrainConfig(RunConfig):
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
    warmup_steps: int = 200
    grad_clip: float = 10.0
    hflip: bool = True
    train_limit: int | None = None
    out_dir: str = "runs/maskrcnn_camvid"

    def __post_init__(self) -> None:
        if not self.thing_classes:
            raise ValueError("thing_classes must name at least one class")
        super().__post_init__()
        if self.min_area < 1:
            raise ValueError(f"min_area must be >= 1, got {self.min_area}")


load_instance_config = InstanceTrainConfig.load
