"""Dense optical flow between two frames (OpenCV DIS or Farneback) and its encodings.

Flow is ``(H, W, 2)`` float32 in pixels: ``flow[y, x] = (dx, dy)`` moves the pixel at
``(x, y)`` of the previous frame to its place in the next one.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

__all__ = [
    "DIS_PRESETS",
    "FLOW_METHODS",
    "FlowEstimator",
    "flow_to_network_input",
    "flow_to_rgb",
    "to_gray",
]

DIS_PRESETS = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}
FLOW_METHODS = ("dis", "farneback")


def to_gray(rgb: np.ndarray) -> np.ndarray:
    """uint8 grey image of an RGB (H, W, 3) or grey (H, W) uint8 frame."""
    if rgb.dtype != np.uint8:
        raise ValueError(f"flow needs uint8 frames, got {rgb.dtype}")
    if rgb.ndim == 2:
        return rgb
    if rgb.ndim == 3 and rgb.shape[2] == 3:
        return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    raise ValueError(f"flow needs (H, W) or (H, W, 3) frames, got shape {rgb.shape}")


@dataclass(frozen=True)
class FarnebackParams:
    """OpenCV's Farneback settings (its documented defaults for video)."""

    pyr_scale: float = 0.5
    levels: int = 3
    winsize: int = 15
    iterations: int = 3
    poly_n: int = 5
    poly_sigma: float = 1.2


class FlowEstimator:
    """Dense flow with one method and preset; reuses its OpenCV object between calls.

    Args:
        method: ``dis`` (default, fast) or ``farneback``.
        preset: DIS preset, one of ``DIS_PRESETS`` (ignored by Farneback).
    """

    def __init__(self, method: str = "dis", preset: str = "fast"):
        if method not in FLOW_METHODS:
            raise ValueError(f"unknown flow method {method!r}; choose from {FLOW_METHODS}")
        if preset not in DIS_PRESETS:
            raise ValueError(f"unknown DIS preset {preset!r}; choose from {tuple(DIS_PRESETS)}")
        self.method, self.preset = method, preset
        self._dis = cv2.DISOpticalFlow_create(DIS_PRESETS[preset]) if method == "dis" else None
        self._farneback = FarnebackParams()

    def __call__(self, previous: np.ndarray, current: np.ndarray) -> np.ndarray:
        """Flow from ``previous`` to ``current`` (uint8 RGB or grey frames of one size)."""
        prev_gray, next_gray = to_gray(previous), to_gray(current)
        if prev_gray.shape != next_gray.shape:
            raise ValueError(f"frame sizes differ: {prev_gray.shape} and {next_gray.shape}")
        if self._dis is not None:
            return self._dis.calc(prev_gray, next_gray, None)
        p = self._farneback
        return cv2.calcOpticalFlowFarneback(
            prev_gray,
            next_gray,
            None,
            p.pyr_scale,
            p.levels,
            p.winsize,
            p.iterations,
            p.poly_n,
            p.poly_sigma,
            0,
        )


def flow_to_network_input(flow: np.ndarray) -> np.ndarray:
    """(2, H, W) float32 ``(dx / W, dy / H)``: flow as a fraction of the image size.

    The same motion then gives the same values at any resolution the frame is resized
    to, which lets a model trained at one size run at another.
    """
    height, width = flow.shape[:2]
    scale = np.array([1.0 / width, 1.0 / height], dtype=np.float32)
    return np.ascontiguousarray((flow * scale).transpose(2, 0, 1))


def flow_to_rgb(flow: np.ndarray, max_magnitude: float | None = None) -> np.ndarray:
    """(H, W, 3) uint8 RGB: hue is the direction, brightness the speed (the usual picture).

    Args:
        flow: (H, W, 2) pixels.
        max_magnitude: speed shown at full brightness; default: this flow's 99th
            percentile (at least 1 pixel, so a still scene stays dark).
    """
    dx, dy = flow[..., 0], flow[..., 1]
    magnitude, angle = cv2.cartToPolar(dx, dy, angleInDegrees=True)
    if max_magnitude is None:
        max_magnitude = max(float(np.percentile(magnitude, 99)), 1.0)
    hsv = np.empty((*flow.shape[:2], 3), dtype=np.uint8)
    hsv[..., 0] = (angle / 2).astype(np.uint8)  # OpenCV hue runs 0..179
    hsv[..., 1] = 255
    hsv[..., 2] = np.clip(magnitude * (255.0 / max_magnitude), 0, 255).astype(np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
