"""Summary and picture strip of an ``eval-vos`` run."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..io_utils import file_sha256
from .vos_eval import VOSSequenceResult

__all__ = ["summarise_vos", "vos_figure", "mask_overlay"]


def summarise_vos(
    results: Sequence[VOSSequenceResult], parents: Sequence[str | os.PathLike]
) -> dict[str, Any]:
    """DAVIS means (per sequence, then over sequences) and the CPU cost."""
    j_mean = float(np.mean([r.j_mean for r in results]))
    f_mean = float(np.mean([r.f_mean for r in results]))
    return {
        "j_mean": j_mean,
        "f_mean": f_mean,
        "jf_mean": (j_mean + f_mean) / 2,
        "frames": int(sum(r.frames for r in results)),
        "finetune_seconds_mean": float(np.mean([r.finetune_seconds for r in results])),
        "ms_per_frame_mean": float(np.mean([r.ms_per_frame for r in results])),
        "per_sequence": [
            {
                "sequence": r.sequence,
                "parent": r.parent,
                "j": r.j_mean,
                "f": r.f_mean,
                "frames": r.frames,
                "finetune_seconds": round(r.finetune_seconds, 2),
                "ms_per_frame": round(r.ms_per_frame, 1),
                "adaptations": r.adaptations,
            }
            for r in results
        ],
        "parents": {Path(p).name: file_sha256(p) for p in parents},
    }


def mask_overlay(rgb: np.ndarray, mask: np.ndarray, colour=(255, 64, 0)) -> np.ndarray:
    """RGB with the mask tinted and outlined."""
    out = rgb.copy()
    tint = np.array(colour, np.float32)
    out[mask] = (0.5 * out[mask] + 0.5 * tint).astype(np.uint8)
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(out, contours, -1, colour, 2)
    return out


def vos_figure(results: Sequence[VOSSequenceResult], title: str, path: Path) -> bool:
    """Rows of sequences, columns of frames (frame 0: the given mask); False if nothing
    was kept to show. Written atomically."""
    rows = [r for r in results if r.shown]
    if not rows:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..io_utils import atomic_write

    columns = max(len(r.shown) for r in rows)
    fig, axes = plt.subplots(
        len(rows), columns, figsize=(3.2 * columns, 2.0 * len(rows)), squeeze=False
    )
    for row, result in zip(axes, rows, strict=True):
        for ax in row:
            ax.axis("off")
        for ax, (index, rgb, mask) in zip(row, result.shown, strict=False):
            small = cv2.resize(rgb, (320, 180), interpolation=cv2.INTER_AREA)
            small_mask = cv2.resize(mask.astype(np.uint8), (320, 180)) > 0
            ax.imshow(mask_overlay(small, small_mask))
            label = "given mask" if index == 0 else f"frame {index}"
            ax.set_title(f"{result.sequence}: {label}", fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    return True
