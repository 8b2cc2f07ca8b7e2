"""The DAVIS folds of a config: named, disjoint lists of sequences (train on one, test on
the other), and the keys every fold trainer's config has (train-motion, train-vos-parent)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .run_config import RunConfig

__all__ = ["check_folds", "fold_sequences", "FoldRunConfig"]


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


@dataclass
class FoldRunConfig(RunConfig):
    """A run on one DAVIS fold's sequences, each frame resized to ``input_size``."""

    folds: dict[str, list[str]] = field(default_factory=dict)  # fold name -> sequences
    input_size: tuple[int, int] = (432, 240)  # (width, height) the network sees
    frame_limit: int | None = None  # frames per sequence (smoke runs)

    def __post_init__(self) -> None:
        self.input_size = tuple(self.input_size)  # type: ignore[assignment]
        check_folds(self.folds)
        super().__post_init__()

    def training_sequences(self, fold: str) -> list[str]:
        return fold_sequences(self.folds, fold)
