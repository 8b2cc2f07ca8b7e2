"""Picture of a few frames: image, ground truth, labels without and with the CRF."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..classes import CAMVID, ClassSet
from ..io_utils import atomic_write

__all__ = ["crf_examples_figure"]


def _colour(labels: np.ndarray, classes: ClassSet) -> np.ndarray:
    """Class colours; ignored pixels (and unknown ids) black."""
    return classes.lookup_table()[labels]


def crf_examples_figure(result, best: int, path: Path, classes: ClassSet = CAMVID) -> None:
    """One row per example frame of a ``GridResult``: image, truth, no CRF, best CRF."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result.examples
    fig, axes = plt.subplots(len(rows), 4, figsize=(13, 2.6 * len(rows)), squeeze=False)
    titles = ("frame", "ground truth", "without CRF", "with CRF (best on the grid)")
    for row, example in zip(axes, rows, strict=True):
        pictures = (
            example["rgb"],
            _colour(example["truth"], classes),
            _colour(example["unrefined"], classes),
            _colour(example["refined"][best], classes),
        )
        for ax, picture, title in zip(row, pictures, titles, strict=True):
            ax.imshow(picture)
            ax.set_title(title, fontsize=9)
            ax.axis("off")
    fig.tight_layout()
    with atomic_write(path) as tmp:
        fig.savefig(tmp, dpi=90, format="png")
    plt.close(fig)
