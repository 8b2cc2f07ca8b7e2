"""Configuration of a driving-policy training run (behaviour cloning + auxiliary loss)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .run_config import RunConfig

__all__ = ["PolicyTrainConfig", "load_policy_config"]


@dataclass
class PolicyTrainConfig(RunConfig):
    """loss = L_policy + seg_weight * L_seg (pixel-wise cross entropy)."""

    demos: list[str] = field(default_factory=list)  # .npz files (record-demos, bag-demos)
    model_kwargs: dict[str, Any] = field(default_factory=dict)  # DrivingPolicy arguments
    frame_stride: int = 1  # train on every N-th frame (consecutive frames are near-duplicates)
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
        super().__post_init__()


load_policy_config = PolicyTrainConfig.load
