"""The DAVIS folds of a config: named, disjoint lists of sequences (train on one, test on
the other)."""

from __future__ import annotations

__all__ = ["check_folds", "fold_sequences"]


def check_folds(folds: dict[str, list[str]]) -> None:
    """Raises ValueError unless there are at least two folds and no sequence is in two."""
    if len(folds) < 2:
        raise ValueError("folds needs at least two named folds of sequences")
    seen: set[str] = set()
    for names in folds.values():
        if seen & set(names):
            raise ValueError(f"folds overlap: {', '.join(sorted(seen & set(names)))}")
        seen |= set(names)


def fold_sequences(folds: dict[str, list[str]], fold: str) -> list[str]:
    """The sequences of ``fold`` (ValueError naming the folds when it is unknown)."""
    if fold not in folds:
        raise ValueError(f"unknown fold {fold!r}; choose from {', '.join(folds)}")
    return list(folds[fold])
