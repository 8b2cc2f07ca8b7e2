"""Statistics of closed-loop scores: mean, interquartile mean, bootstrap intervals, and
paired comparisons of two policies on the same tracks (no ROS)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

__all__ = [
    "interquartile_mean",
    "bootstrap_interval",
    "score_summary",
    "paired_difference",
    "difference_of_means",
]

RESAMPLES = 10_000


def interquartile_mean(values: Sequence[float]) -> float:
    """Mean of the middle half: the lowest and highest quarter (``n // 4`` each) dropped."""
    ordered = np.sort(np.asarray(values, dtype=np.float64))
    cut = len(ordered) // 4
    return float(ordered[cut : len(ordered) - cut].mean())


def bootstrap_interval(
    values: Sequence[float],
    statistic: Callable[[np.ndarray], float] = np.mean,
    level: float = 0.95,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic`` (fixed generator: reproducible)."""
    data = np.asarray(values, dtype=np.float64)
    if len(data) < 2:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(data), size=(resamples, len(data)))
    stats = np.array([statistic(data[row]) for row in picks])
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(stats, [tail, 100 - tail])
    return float(low), float(high)


def score_summary(
    returns: Sequence[float], progress: Sequence[float], laps: Sequence[bool]
) -> dict:
    """What every driving table reports for one policy under one condition."""
    values = np.asarray(returns, dtype=np.float64)
    low, high = bootstrap_interval(values)
    return {
        "episodes": len(values),
        "mean_return": float(values.mean()),
        "iqm_return": interquartile_mean(values),
        "ci95_return": [low, high],
        "std_return": float(values.std()),
        "min_return": float(values.min()),
        "tiles_completed": float(np.mean(progress)),
        "laps_finished": int(np.sum(laps)),
    }


def paired_difference(first: dict[int, float], second: dict[int, float], seed: int = 0) -> dict:
    """``second - first`` on the tracks both were scored on (by seed): mean difference,
    its bootstrap 95 % interval, and the tracks each was better on."""
    seeds = sorted(set(first) & set(second))
    if not seeds:
        raise ValueError("the two score sets share no track")
    diffs = np.array([second[s] - first[s] for s in seeds])
    low, high = bootstrap_interval(diffs, seed=seed)
    return {
        "tracks": len(seeds),
        "mean_difference": float(diffs.mean()),
        "ci95_difference": [low, high],
        "second_better": int((diffs > 0).sum()),
        "first_better": int((diffs < 0).sum()),
    }


def difference_of_means(first: Sequence[float], second: Sequence[float], seed: int = 0) -> dict:
    """``mean(second) - mean(first)`` for two independent samples (e.g. the scores of
    policies trained with different seeds), with a bootstrap 95 % interval that
    resamples each sample on its own."""
    a, b = np.asarray(first, dtype=np.float64), np.asarray(second, dtype=np.float64)
    if len(a) < 2 or len(b) < 2:
        raise ValueError("each sample needs at least two values")
    rng = np.random.default_rng(seed)
    picks_a = rng.integers(0, len(a), size=(RESAMPLES, len(a)))
    picks_b = rng.integers(0, len(b), size=(RESAMPLES, len(b)))
    diffs = b[picks_b].mean(axis=1) - a[picks_a].mean(axis=1)
    low, high = np.percentile(diffs, [2.5, 97.5])
    return {
        "n_first": len(a),
        "n_second": len(b),
        "mean_first": float(a.mean()),
        "mean_second": float(b.mean()),
        "mean_difference": float(b.mean() - a.mean()),
        "ci95_difference": [float(low), float(high)],
    }
