"""A synthetic target for the VOS tests: a striped orange disk on grey noise."""

from __future__ import annotations

import numpy as np


def disk_scene(offset: int) -> tuple[np.ndarray, np.ndarray]:
    """A 128x96 frame and its object mask: the disk (radius 20) centred at x = 40 +
    ``offset``, y = 48."""
    rng = np.random.default_rng(offset)
    rgb = rng.integers(90, 140, (96, 128, 3)).astype(np.uint8)
    yy, xx = np.mgrid[:96, :128]
    mask = (xx - 40 - offset) ** 2 + (yy - 48) ** 2 < 20**2
    rgb[mask] = (230, 120, 30)
    rgb[mask & (xx % 6 < 2)] = (160, 60, 10)
    return rgb, mask
