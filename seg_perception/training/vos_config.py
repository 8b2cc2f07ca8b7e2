"""Configuration of a VOS parent training run on one DAVIS fold, read from YAML."""

from __future__ import annotations

from dataclasses import dataclass

from .davis_folds import FoldRunConfig

__all__ = ["VOSParentConfig", "load_vos_parent_config"]


@dataclass
class VOSParentConfig(FoldRunConfig):
    """Binary foreground training of the one-logit LR-ASPP on one DAVIS fold."""

    # segmentation checkpoint whose encoder (and gated branch) start the parent; "default"
    # is the bundled CamVid model (ImageNet EfficientNet-Lite0, then CamVid)
    init_segmentation: str = "default"
    crop_size: tuple[int, int] = (192, 336)  # (height, width) random training crops
    scale_range: tuple[float, float] = (0.7, 1.3)
    color_jitter: float = 0.2
    frozen_stages: int = 2
    epochs: int = 10
    batch_size: int = 6
    lr: float = 3e-4
    out_dir: str = "runs/vos/parent"

    def __post_init__(self) -> None:
        self.crop_size = tuple(self.crop_size)  # type: ignore[assignment]
        self.scale_range = tuple(self.scale_range)  # type: ignore[assignment]
        super().__post_init__()
        if min(self.input_size) < 32 or min(self.crop_size) < 32:
            raise ValueError("input_size and crop_size must be at least 32 pixels")


load_vos_parent_config = VOSParentConfig.load
