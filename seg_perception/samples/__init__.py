"""Bundled sample data (CamVid frames with labels) for the demo and the tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data.camvid import read_label, read_rgb

__all__ = ["CAMVID_SAMPLE", "load_camvid_sample"]

CAMVID_SAMPLE = Path(__file__).resolve().parent / "camvid"


def load_camvid_sample(limit: int | None = None) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``[(stem, rgb, label), ...]`` of the bundled frames in time order (ignore = 255)."""
    images = sorted((CAMVID_SAMPLE / "images").glob("*.jpg"))[:limit]
    return [
        (p.stem, read_rgb(p), read_label(CAMVID_SAMPLE / "labels" / f"{p.stem}.png"))
        for p in images
    ]
