"""Support pools and seeded episodes of the few-shot protocol."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..data.labelled_data import LabelledData

__all__ = ["SupportFrame", "support_pools", "draw_episode"]


@dataclass(frozen=True)
class SupportFrame:
    """A labelled frame that may support a class."""

    stem: str
    image: Path
    label: Path


def support_pools(
    data: LabelledData, splits: Sequence[str], class_ids: Sequence[int], min_fraction: float
) -> dict[int, list[SupportFrame]]:
    """Per class id, the frames of ``data``'s ``splits`` where it covers at least
    ``min_fraction`` of the pixels, in split order.

    Raises:
        ValueError: a class with no such frame.
    """
    pools: dict[int, list[SupportFrame]] = {c: [] for c in class_ids}
    files = [entry for split in splits for entry in data.files(split)]
    for stem, image, label_path in tqdm(files, desc="support pools", leave=False):
        label = data.read_label(label_path)
        for class_id in class_ids:
            if (label == class_id).mean() >= min_fraction:
                pools[class_id].append(SupportFrame(stem, Path(image), Path(label_path)))
    empty = [c for c, frames in pools.items() if not frames]
    if empty:
        raise ValueError(f"no support frame covers {min_fraction:.2%} for class ids {empty}")
    return pools


def draw_episode(
    pools: dict[int, list[SupportFrame]], shots: int, seed: Sequence[int]
) -> dict[int, list[SupportFrame]]:
    """``shots`` distinct frames per class (fewer only if its pool is smaller), drawn
    with ``np.random.default_rng(seed)`` in class-id order: the same seed, the same
    episode."""
    rng = np.random.default_rng(list(seed))
    episode = {}
    for class_id in sorted(pools):
        pool = pools[class_id]
        picks = rng.choice(len(pool), size=min(shots, len(pool)), replace=False)
        episode[class_id] = [pool[i] for i in sorted(picks)]
    return episode
