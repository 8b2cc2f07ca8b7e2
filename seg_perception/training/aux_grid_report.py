"""The auxiliary-loss experiment's table and plot, from a grid's ``out`` folder: per
arm, data size and condition the mean of the policies' mean returns, and each arm's
effect against the arm without the loss with a bootstrap 95 % interval over the
training seeds (no ROS)."""

from __future__ import annotations

import csv
import json
import os
from collections import defaultdict
from pathlib import Path

from ..driving.episode_stats import difference_of_means
from ..io_utils import atomic_write
from .aux_grid import GridPlan, grid_jobs

__all__ = [
    "collect_scores",
    "grid_effects",
    "effects_markdown",
    "arm_summary_markdown",
    "write_grid_report",
]


def collect_scores(plan: GridPlan, out_dir: Path) -> dict[tuple[str, str, str], list[float]]:
    """(arm, size, condition) -> each finished policy's mean return, seed order."""
    scores: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for job in grid_jobs(plan):
        for condition in plan.conditions:
            path = job.folder(out_dir) / f"scores_{condition}.json"
            if path.is_file():
                mean = json.loads(path.read_text())["mean_return"]
                scores[(job.arm, job.size, condition)].append(float(mean))
    return dict(scores)


def grid_effects(plan: GridPlan, out_dir: Path, baseline: str = "off") -> list[dict]:
    """One row per (arm other than ``baseline``, size, condition) with both arms' means
    and the effect ``arm - baseline``; rows lacking two policies a side are left out."""
    scores = collect_scores(plan, out_dir)
    rows = []
    for arm in plan.arms:
        if arm == baseline:
            continue
        for size in plan.sizes:
            for condition in plan.conditions:
                first = scores.get((baseline, size, condition), [])
                second = scores.get((arm, size, condition), [])
                if len(first) < 2 or len(second) < 2:
                    continue
                effect = difference_of_means(first, second)
                rows.append({"arm": arm, "size": size, "condition": condition, **effect})
    return rows


def effects_markdown(rows: list[dict], plan: GridPlan, baseline: str = "off") -> str:
    lines = [
        f"| arm | data (episodes) | condition | {baseline}: mean (n) | arm: mean (n) "
        "| effect | 95 % interval |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        low, high = r["ci95_difference"]
        lines.append(
            f"| {r['arm']} | {r['size']} ({plan.sizes[r['size']]}) | {r['condition']} "
            f"| {r['mean_first']:.1f} ({r['n_first']}) | {r['mean_second']:.1f} ({r['n_second']}) "
            f"| **{r['mean_difference']:+.1f}** | {low:+.1f} to {high:+.1f} |"
        )
    return "\n".join(lines) + "\n"


def arm_summary_markdown(plan: GridPlan, out_dir: Path) -> str:
    """Per size and arm: the finished policies and, per condition, the mean, standard
    deviation and range of their mean returns."""
    import numpy as np

    scores = collect_scores(plan, out_dir)
    lines = [
        "| data (episodes) | arm | policies | "
        + " | ".join(f"{c}: mean +- sd (min to max)" for c in plan.conditions)
        + " |",
        "|---|---|---|" + "---|" * len(plan.conditions),
    ]
    for size in plan.sizes:
        for arm in plan.arms:
            cells = [np.asarray(scores.get((arm, size, c), [])) for c in plan.conditions]
            if not any(len(v) for v in cells):
                continue
            shown = [
                f"{v.mean():.1f} +- {v.std(ddof=1) if len(v) > 1 else 0.0:.1f} "
                f"({v.min():.1f} to {v.max():.1f})"
                if len(v)
                else "-"
                for v in cells
            ]
            lines.append(
                f"| {size} ({plan.sizes[size]}) | {arm} | {max(len(v) for v in cells)} | "
                + " | ".join(shown)
                + " |"
            )
    return "\n".join(lines) + "\n"


def _plot(rows: list[dict], plan: GridPlan, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    arms = list(dict.fromkeys(r["arm"] for r in rows))
    fig, axes = plt.subplots(
        1, len(arms), figsize=(5 * len(arms), 3.6), squeeze=False, sharey=True
    )
    sizes = list(plan.sizes)
    for ax, arm in zip(axes[0], arms, strict=True):
        for offset, condition in enumerate(plan.conditions):
            picked = [r for r in rows if r["arm"] == arm and r["condition"] == condition]
            xs = [sizes.index(r["size"]) + 0.12 * (offset - 1) for r in picked]
            ys = [r["mean_difference"] for r in picked]
            errors = [
                [r["mean_difference"] - r["ci95_difference"][0] for r in picked],
                [r["ci95_difference"][1] - r["mean_difference"] for r in picked],
            ]
            ax.errorbar(xs, ys, yerr=errors, fmt="o", capsize=3, label=condition)
        ax.axhline(0.0, color="grey", lw=0.8)
        ax.set_xticks(range(len(sizes)), [f"{s}\n({plan.sizes[s]} ep.)" for s in sizes])
        ax.set_xlim(-0.5, len(sizes) - 0.5)
        ax.set_title(f"{arm} minus off")
        ax.set_ylabel("return difference (95 % CI)")
        ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_write(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


def write_grid_report(
    plan: GridPlan, out_dir: str | os.PathLike, figure: str | os.PathLike | None = None
) -> str:
    """Write ``effects.csv``, ``effects.md`` and ``arms.md`` (each arm's policies)
    under ``out_dir`` (and the plot to ``figure``); returns the two markdown tables."""
    out_dir = Path(out_dir)
    rows = grid_effects(plan, out_dir)
    table = effects_markdown(rows, plan)
    arms = arm_summary_markdown(plan, out_dir)
    with atomic_write(out_dir / "effects.md", suffix=".md") as tmp:
        Path(tmp).write_text(table)
    with atomic_write(out_dir / "arms.md", suffix=".md") as tmp:
        Path(tmp).write_text(arms)
    with (
        atomic_write(out_dir / "effects.csv", suffix=".csv") as tmp,
        open(tmp, "w", newline="") as handle,
    ):
        writer = csv.writer(handle)
        writer.writerow(
            [
                "arm",
                "size",
                "condition",
                "n_off",
                "n_arm",
                "mean_off",
                "mean_arm",
                "effect",
                "ci95_low",
                "ci95_high",
            ]
        )
        for r in rows:
            writer.writerow(
                [
                    r["arm"],
                    r["size"],
                    r["condition"],
                    r["n_first"],
                    r["n_second"],
                    round(r["mean_first"], 2),
                    round(r["mean_second"], 2),
                    round(r["mean_difference"], 2),
                    round(r["ci95_difference"][0], 2),
                    round(r["ci95_difference"][1], 2),
                ]
            )
    if figure is not None and rows:
        _plot(rows, plan, Path(figure))
    return table + "\n" + arms
