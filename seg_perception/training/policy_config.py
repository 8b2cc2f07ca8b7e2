"""Configuration of a driving-policy training run (behaviour cloning + auxiliary loss)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .run_config import RunConfig

__all__ = ["PolicyTrainConfig", "load_policy_config", "SEG_CLASS_WEIGHTS"]

SEG_CLASS_WEIGHTS = ("none", "median_frequency")


@dataclass
class PolicyTrainConfig(RunConfig):
    """loss = L_policy + seg_weight * L_seg (pixel-wise cross entropy)."""

    demos: list[str] = field(default_factory=list)  # .npz files (record-demos, bag-demos)
    model_kwargs: dict[str, Any] = field(default_factory=dict)  # DrivingPolicy arguments
    frame_stride: int = 1  # train on every N-th frame (consecutive frames are near-duplicates)
    episodes: int = 0  # train on the first N episodes of the demos only; 0 = all
    steps_per_epoch: int = 0  # batches per epoch; 0 = one pass over the frames
    recolour: float = 0.0  # class-wise road/grass colour offsets up to this share of the range
    seg_class_weights: str = "none"  # "none" or "median_frequency" (Eigen and Fergus)
    seg_weight: float = 0.5  # lambda; 0 disables the auxiliary branch (no seg loss)
    steer_weight: float = 2.0  # L_policy = steer_weight * MSE(steer) + MSE(gas) + MSE(brake)
    epochs: int = 6
    batch_size: int = 64
    lr: float = 1e-3
    out_dir: str = "runs/driving/policy"

    def __post_init__(self) -> None:
        if self.seg_weight < 0:
            raise ValueError(f"seg_weight must be >= 0, got {self.seg_weight}")
        if self.frame_stride < 1:
            raise ValueError(f"frame_stride must be >= 1, got {self.frame_stride}")
        if self.episodes < 0 or self.steps_per_epoch < 0:
            raise ValueError("episodes and steps_per_epoch must be >= 0 (0: all, one pass)")
        if not 0 <= self.recolour <= 1:
            raise ValueError(f"recolour must be in [0, 1], got {self.recolour}")
        if self.seg_class_weights not in SEG_CLASS_WEIGHTS:
            raise ValueError(
                f"seg_class_weights must be one of {', '.join(SEG_CLASS_WEIGHTS)}, "
                f"got {self.seg_class_weights!r}"
            )
        super().__post_init__()


load_policy_config = PolicyTrainConfig.load
