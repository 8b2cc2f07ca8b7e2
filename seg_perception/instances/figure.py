"""A figure of a few frames: derived ground truth and each mode's instances."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from ..io_utils import atomic_write
from .components import Instance
from .encoding import assign_instance_ids
from .render import instance_overlay

__all__ = ["save_instance_figure"]


def save_instance_figure(
    path: str | os.PathLike,
    frames,
    truth: Sequence[Sequence[Instance]],
    predictions: dict[str, Sequence[Sequence[Instance]]],
    rows: int = 3,
    score_threshold: float = 0.5,
) -> None:
    """PNG grid: one row per frame (those with the most objects), truth then each mode."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    order = np.argsort([-len(t) for t in truth])[:rows]
    columns = ["derived truth", *predictions]
    fig, axes = plt.subplots(len(order), len(columns), figsize=(4 * len(columns), 3 * len(order)))
    axes = np.atleast_2d(axes)
    for row, index in enumerate(order):
        rgb, _ = frames.frames[int(index)]
        sets = [truth[index]] + [
            [i for i in found[index] if i.score >= score_threshold]
            for found in predictions.values()
        ]
        for col, (title, instances) in enumerate(zip(columns, sets, strict=True)):
            axes[row, col].imshow(instance_overlay(rgb, instances, assign_instance_ids(instances)))
            axes[row, col].set_title(f"{title}: {len(instances)}", fontsize=9)
            axes[row, col].axis("off")
    fig.tight_layout()
    with atomic_write(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=80)
    plt.close(fig)
