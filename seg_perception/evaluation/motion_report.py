"""Summaries and a picture of DAVIS motion scores."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..latency_stats import LatencyStats
from .motion_eval import SequenceScore
from .segmentation_eval import file_sha256

__all__ = ["motion_figure", "summarise"]


def summarise(
    scores: Sequence[SequenceScore],
    latency: LatencyStats,
    checkpoints: Sequence[str | os.PathLike],
) -> dict[str, Any]:
    """DAVIS means: J and F averaged per sequence, then over sequences; J&F their mean."""
    j_mean = float(np.mean([s.j_mean for s in scores]))
    f_mean = float(np.mean([s.f_mean for s in scores]))
    tuned = [s.finetune_seconds for s in scores if s.finetune_seconds is not None]
    extra = {"finetune_seconds_mean": float(np.mean(tuned))} if tuned else {}
    return {
        "j_mean": j_mean,
        "f_mean": f_mean,
        "jf_mean": (j_mean + f_mean) / 2,
        "frames": int(sum(s.frames for s in scores)),
        "per_sequence": [
            {"sequence": s.sequence, "checkpoint": s.checkpoint, "j": s.j_mean, "f": s.f_mean}
            | ({} if s.finetune_seconds is None else {"finetune_seconds": s.finetune_seconds})
            for s in scores
        ],
        "checkpoints": {Path(p).name: file_sha256(p) for p in checkpoints},
        "latency_ms": latency.summary(),
        **extra,
    }


def motion_figure(models: dict[str, dict[str, Any]], path: Path) -> None:
    """Per-sequence J of each model as grouped bars (written atomically)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..io_utils import atomic_write

    names = [row["sequence"] for row in next(iter(models.values()))["per_sequence"]]
    fig, ax = plt.subplots(figsize=(11, 4.5))
    width = 0.8 / len(models)
    for k, (model, summary) in enumerate(models.items()):
        j = [100 * row["j"] for row in summary["per_sequence"]]
        label = f"{model} (J {100 * summary['j_mean']:.1f})"
        ax.bar(np.arange(len(names)) + k * width, j, width, label=label)
    ax.set_xticks(np.arange(len(names)) + 0.4 - width / 2, names, rotation=60, ha="right")
    ax.set_ylabel("J (mask IoU, %)")
    ax.set_ylim(0, 100)
    ax.set_title(
        "DAVIS 2016, unsupervised, two folds of 10 (each scored by the other fold's model)"
    )
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
