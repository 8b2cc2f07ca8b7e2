"""A figure's class legend: one coloured patch per class, below the pictures."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["add_class_legend"]


def add_class_legend(
    fig, names: Sequence[str], colors: Sequence[Sequence[int]], extra: Sequence[tuple] = ()
) -> None:
    """Patches for ``names`` in ``colors`` (0..255 RGB), then ``extra`` ``(label, colour)``
    pairs, along the bottom of ``fig`` (leave room: ``tight_layout(rect=(0, 0.08, 1, 1))``)."""
    from matplotlib.patches import Patch

    handles = [
        Patch(color=np.array(color) / 255.0, label=name)
        for name, color in zip(names, colors, strict=True)
    ]
    handles += [Patch(color=color, label=label) for label, color in extra]
    fig.legend(handles=handles, loc="lower center", ncol=6, frameon=False, fontsize=9)
