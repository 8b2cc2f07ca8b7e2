"""The ImageNet normalisation every encoder was pretrained with (no ROS)."""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["MEAN", "STD", "normalize_image"]

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def normalize_image(rgb: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 RGB -> (3, H, W) float tensor, ImageNet-normalised."""
    scaled = rgb.astype(np.float32) * (1.0 / 255.0)
    return torch.from_numpy(((scaled - MEAN) / STD).transpose(2, 0, 1).copy())
