"""The few-shot protocol file (``config/fewshot/protocol.yaml``), read and checked
against the class set of the dataset it runs on."""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..classes import ClassSet
from ..io_utils import read_yaml

__all__ = ["FewShotProtocol", "load_protocol", "check_folds"]


@dataclass(frozen=True)
class FewShotProtocol:
    """Folds of novel classes, their base models and how episodes are drawn."""

    folds: tuple[tuple[str, ...], ...]
    base_checkpoints: tuple[str, ...]
    fully_supervised_checkpoint: str
    support_splits: tuple[str, ...]
    min_class_fraction: float
    shots: tuple[int, ...]
    episodes: int
    seed: int
    adaptations: tuple[tuple[float, int], ...]
    alpha: float
    refine_steps: int
    refine_lr: float
    refine_partial: float
    input_size: tuple[int, int]

    def novel_ids(self, fold: int, classes: ClassSet) -> list[int]:
        """The ids of the fold's novel classes in ``classes``."""
        return classes.ids_of(self.folds[fold])

    def base_ids(self, fold: int, classes: ClassSet) -> list[int]:
        """The ids of every other class of ``classes``."""
        novel = set(self.novel_ids(fold, classes))
        return [i for i in range(classes.num_classes) if i not in novel]


def load_protocol(path: str | os.PathLike, classes: ClassSet | None = None) -> FewShotProtocol:
    """Read a protocol file (its folds checked against ``classes`` when given:
    ``check_folds``); paths in it are relative to the repository (the cwd).

    Raises:
        ValueError: a missing or bad key, or a bad value (one line naming the file).
    """
    data = read_yaml(path)
    try:
        protocol = FewShotProtocol(
            folds=tuple(tuple(fold) for fold in data["folds"]),
            base_checkpoints=tuple(data["base_checkpoints"]),
            fully_supervised_checkpoint=str(data["fully_supervised_checkpoint"]),
            support_splits=tuple(data["support_splits"]),
            min_class_fraction=float(data["min_class_fraction"]),
            shots=tuple(int(k) for k in data["shots"]),
            episodes=int(data["episodes"]),
            seed=int(data["seed"]),
            adaptations=tuple((float(a), int(s)) for a, s in data["adaptations"]),
            alpha=float(data["alpha"]),
            refine_steps=int(data["refine_steps"]),
            refine_lr=float(data["refine_lr"]),
            refine_partial=float(data["refine_partial"]),
            input_size=tuple(data["input_size"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(
            f"{path}: not a few-shot protocol ({exc.__class__.__name__}: {exc})"
        ) from None
    if len(protocol.base_checkpoints) != len(protocol.folds):
        raise ValueError(f"{path}: one base checkpoint per fold")
    chosen = (protocol.alpha, protocol.refine_steps)
    if any(not 0 <= a <= 1 or s < 0 for a, s in (*protocol.adaptations, chosen)):
        raise ValueError(f"{path}: adaptations need alpha in [0, 1] and refine steps >= 0")
    if protocol.refine_lr <= 0 or not 0 <= protocol.refine_partial <= 1:
        raise ValueError(f"{path}: refine_lr must be positive, refine_partial in [0, 1]")
    if classes is not None:
        check_folds(protocol, classes, path)
    return protocol


def check_folds(protocol: FewShotProtocol, classes: ClassSet, path: str | os.PathLike) -> None:
    """Check that every fold of the protocol read from ``path`` names classes of the
    dataset's ``classes``.

    Raises:
        ValueError: naming the first fold with an unknown class, and the class (one line).
    """
    for index, fold in enumerate(protocol.folds):
        unknown = [name for name in fold if name not in classes.names]
        if unknown:
            raise ValueError(
                f"{path}: fold {index} names {', '.join(unknown)}, not among the dataset's "
                f"classes ({', '.join(classes.names)})"
            )
