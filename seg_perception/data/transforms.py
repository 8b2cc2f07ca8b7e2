"""Paired image/label transforms: labels resize with nearest neighbour, pad with ignore."""

from __future__ import annotations

import cv2
import numpy as np
import torch

from ..classes import IGNORE_INDEX
from ..models.normalization import normalize_image

__all__ = ["TrainTransform", "EvalTransform"]


class EvalTransform:
    """Deterministic: full resolution, normalisation only."""

    def __call__(self, rgb: np.ndarray, label: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        return normalize_image(rgb), torch.from_numpy(label.astype(np.int64))


class TrainTransform:
    """Random scale, crop (padding labels with the ignore index), flip and colour jitter.

    Args:
        crop_size: (height, width) of the output.
        scale_range: (min, max) random rescale factor.
        color_jitter: max relative change of brightness, contrast and saturation.
        rng: numpy generator (seeded by the trainer per worker).
    """

    def __init__(
        self,
        crop_size: tuple[int, int],
        scale_range: tuple[float, float] = (0.75, 1.5),
        color_jitter: float = 0.25,
        rng: np.random.Generator | None = None,
    ):
        self.crop_h, self.crop_w = crop_size
        self.scale_range = scale_range
        self.color_jitter = color_jitter
        self.rng = rng or np.random.default_rng()

    def _jitter(self, rgb: np.ndarray) -> np.ndarray:
        j = self.color_jitter
        image = rgb.astype(np.float32)
        image *= self.rng.uniform(1 - j, 1 + j)  # brightness
        mean = image.mean()
        image = (image - mean) * self.rng.uniform(1 - j, 1 + j) + mean  # contrast
        gray = image.mean(axis=2, keepdims=True)
        image = (image - gray) * self.rng.uniform(1 - j, 1 + j) + gray  # saturation
        return np.clip(image, 0, 255).astype(np.uint8)

    def __call__(self, rgb: np.ndarray, label: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        scale = self.rng.uniform(*self.scale_range)
        h, w = label.shape
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_LINEAR)
        label = cv2.resize(label, size, interpolation=cv2.INTER_NEAREST)
        pad_h, pad_w = max(0, self.crop_h - size[1]), max(0, self.crop_w - size[0])
        if pad_h or pad_w:
            rgb = cv2.copyMakeBorder(rgb, 0, pad_h, 0, pad_w, cv2.BORDER_CONSTANT, value=0)
            label = cv2.copyMakeBorder(
                label, 0, pad_h, 0, pad_w, cv2.BORDER_CONSTANT, value=IGNORE_INDEX
            )
        top = self.rng.integers(0, label.shape[0] - self.crop_h + 1)
        left = self.rng.integers(0, label.shape[1] - self.crop_w + 1)
        rgb = rgb[top : top + self.crop_h, left : left + self.crop_w]
        label = label[top : top + self.crop_h, left : left + self.crop_w]
        if self.rng.random() < 0.5:
            rgb, label = rgb[:, ::-1], label[:, ::-1]
        rgb = self._jitter(rgb)
        return normalize_image(np.ascontiguousarray(rgb)), torch.from_numpy(label.astype(np.int64))
