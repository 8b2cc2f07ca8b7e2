"""A bar chart of each class's share of labelled pixels, per split (``dataset check``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..classes import ClassSet
from ..io_utils import atomic_write
from .dataset_check import CheckReport

__all__ = ["class_frequency_chart"]


def class_frequency_chart(report: CheckReport, classes: ClassSet, path: Path) -> None:
    """Horizontal bars, one group per class, one bar per split, in the class colours
    (hatched per split); written atomically as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    splits = [s for s in report.splits if s.class_pixels.sum()]
    count = len(classes.names)
    fig, ax = plt.subplots(figsize=(7.5, 1.2 + 0.32 * count * max(1, len(splits))))
    height = 0.8 / max(1, len(splits))
    hatches = ("", "//", "..", "xx", "\\\\")
    for position, summary in enumerate(splits):
        shares = 100.0 * summary.class_pixels / summary.class_pixels.sum()
        rows = np.arange(count) + position * height
        ax.barh(
            rows,
            shares,
            height=height,
            color=np.asarray(classes.colors) / 255.0,
            edgecolor="black",
            linewidth=0.5,
            hatch=hatches[position % len(hatches)],
            label=f"{summary.name} ({summary.frames} frames)",
        )
    ax.set_yticks(np.arange(count) + 0.4 - height / 2, classes.names)
    ax.invert_yaxis()
    ax.set_xlabel("share of labelled pixels (%)")
    ax.set_title(f"{report.dataset}: class pixel frequencies")
    if splits:
        ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    with atomic_write(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
