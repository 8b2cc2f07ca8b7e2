"""Few-shot results: per-class statistics over episodes, and the picture."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..classes import ClassSet
from ..evaluation.metrics import ConfusionMatrix
from ..io_utils import atomic_write

__all__ = ["episode_statistics", "fewshot_figure"]


def _stats(values: Sequence[float]) -> dict[str, float]:
    array = np.asarray(values, dtype=np.float64)
    return {
        "mean": float(np.nanmean(array)),
        "std": float(np.nanstd(array)),
        "min": float(np.nanmin(array)),
        "max": float(np.nanmax(array)),
    }


def episode_statistics(
    confusions: Sequence[ConfusionMatrix],
    novel_ids: Sequence[int],
    base_ids: Sequence[int],
    classes: ClassSet,
) -> dict:
    """Novel-class IoU per class (by its name in ``classes``) and their mean, base-class
    mIoU: mean, std, min and max over episodes."""
    ious = np.stack([c.iou() for c in confusions])  # (episodes, K)
    novel_mean = np.nanmean(ious[:, list(novel_ids)], axis=1)
    base_mean = np.nanmean(ious[:, list(base_ids)], axis=1)
    return {
        "novel_iou": {classes.names[i]: _stats(ious[:, i]) for i in novel_ids},
        "novel_miou": _stats(novel_mean),
        "base_miou": _stats(base_mean),
    }


def _highlight(
    rgb: np.ndarray, labels: np.ndarray, class_ids: Sequence[int], classes: ClassSet
) -> np.ndarray:
    """The frame in grey with the pixels of ``class_ids`` in their class colours."""
    grey = rgb.mean(axis=2, keepdims=True).repeat(3, axis=2).astype(np.uint8)
    table = classes.lookup_table()
    mask = np.isin(labels, list(class_ids))
    picture = grey.copy()
    picture[mask] = (0.3 * grey[mask] + 0.7 * table[labels[mask]]).astype(np.uint8)
    return picture


def fewshot_figure(
    rows: Sequence[tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
    novel_ids: Sequence[int],
    title: str,
    path: Path,
    classes: ClassSet,
) -> None:
    """One row per query frame (stem, rgb, truth, before, after): the novel classes
    highlighted in the truth, the base model's labels and the labels after imprinting,
    in the colours of ``classes``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    fig, axes = plt.subplots(len(rows), 3, figsize=(12, 3.0 * len(rows)), squeeze=False)
    titles = ("ground truth", "base model (novel classes unknown)", "after imprinting")
    for row_axes, (stem, rgb, truth, before, after) in zip(axes, rows, strict=True):
        for ax, labels, name in zip(row_axes, (truth, before, after), titles, strict=True):
            ax.imshow(_highlight(rgb, labels, novel_ids, classes))
            ax.set_title(f"{stem}: {name}", fontsize=8)
            ax.axis("off")
    handles = [
        Patch(color=np.asarray(classes.colors[i]) / 255, label=classes.names[i]) for i in novel_ids
    ]
    fig.legend(handles=handles, loc="lower center", ncol=len(handles))
    fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0.04, 1, 0.97))
    with atomic_write(path) as tmp:
        fig.savefig(tmp, dpi=80, format="png")
    plt.close(fig)
