"""Bundled sample data (CamVid frames with labels, and as a bag) for the demo and the tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data.camvid import read_label, read_rgb

__all__ = ["CAMVID_SAMPLE", "CAMVID_SAMPLE_BAG", "load_camvid_sample"]

CAMVID_SAMPLE = Path(__file__).resolve().parent / "camvid"
CAMVID_SAMPLE_BAG = Path(__file__).resolve().parent / "bags" / "camvid_sample.mcap"
"""The same 30 frames as an MCAP bag: JPEG on /camera/image_raw/compressed, /camera/labels."""


def load_camvid_sample(limit: int | None = None) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``[(stem, rgb, label), ...]`` of the bundled frames in time order (ignore = 255)."""
    images = sorted((CAMVID_SAMPLE / "images").glob("*.jpg"))[:limit]
    return [
        (p.stem, read_rgb(p), read_label(CAMVID_SAMPLE / "labels" / f"{p.stem}.png"))
        for p in images
    ]
