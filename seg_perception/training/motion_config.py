"""Configuration of a two-stream (motion) training run on DAVIS folds, read from YAML."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..motion import DIS_PRESETS, FLOW_METHODS
from .davis_folds import FoldRunConfig

__all__ = ["MotionTrainConfig", "load_motion_config"]


@dataclass
class MotionTrainConfig(FoldRunConfig):
    """Foreground (moving object) training of ``TwoStreamSegmenter`` on one DAVIS fold."""

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
    flow_method: str = "dis"
    flow_preset: str = "fast"
    epochs: int = 8
    batch_size: int = 8
    lr: float = 1e-3
    out_dir: str = "runs/motion/two_stream"

    def __post_init__(self) -> None:
        if self.flow_method not in FLOW_METHODS:
            raise ValueError(f"unknown flow_method {self.flow_method!r}")
        if self.flow_preset not in DIS_PRESETS:
            raise ValueError(f"unknown flow_preset {self.flow_preset!r}")
        super().__post_init__()
        if min(self.input_size) < 32:
            raise ValueError(f"input_size {self.input_size} is too small")


load_motion_config = MotionTrainConfig.load
