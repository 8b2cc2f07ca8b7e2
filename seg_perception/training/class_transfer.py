"""Fine-tuning to other classes: every weight of a checkpoint carried over, the
class-indexed ones (classifier rows, class-to-class upsampling) row by row for the
classes with the same name (letter case aside); rows of new classes keep their fresh
initialisation."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..models import build_model

__all__ = ["ClassTransfer", "transfer_weights"]


@dataclass(frozen=True)
class ClassTransfer:
    """What ``transfer_weights`` did: classes carried over by name and new ones."""

    carried: tuple[str, ...]
    new: tuple[str, ...]
    class_tensors: tuple[str, ...]  # names of the class-indexed weights

    def summary(self) -> str:
        carried = ", ".join(self.carried) or "none"
        new = ", ".join(self.new) or "none"
        return f"classes carried over: {carried}; new: {new}"


def class_dimensions(model_name: str, model_kwargs: dict, num_classes: int) -> dict[str, tuple]:
    """Each class-indexed weight's class dimensions: those whose size follows the number
    of classes (found by building the model with one class more)."""
    with torch.device("meta"):
        one = build_model(model_name, num_classes, **model_kwargs).state_dict()
        more = build_model(model_name, num_classes + 1, **model_kwargs).state_dict()
    dims = {}
    for key, tensor in one.items():
        changed = tuple(
            axis
            for axis, (a, b) in enumerate(zip(tensor.shape, more[key].shape, strict=True))
            if a != b
        )
        if changed:
            dims[key] = changed
    return dims


def transfer_weights(
    target: nn.Module,
    model_name: str,
    model_kwargs: dict,
    source_state: dict[str, torch.Tensor],
    source_names: tuple[str, ...],
    target_names: tuple[str, ...],
) -> ClassTransfer:
    """Copy ``source_state`` into ``target`` (built for ``target_names``): shared weights
    as they are, class-indexed ones on the rows of classes both lists name.

    Raises:
        ValueError: a weight other than a class-indexed one that does not fit.
    """
    dims = class_dimensions(model_name, model_kwargs, len(target_names))
    folded = [name.casefold() for name in source_names]  # "car" is CamVid's "Car"
    pairs = [
        (t, folded.index(name.casefold()))
        for t, name in enumerate(target_names)
        if name.casefold() in folded
    ]
    target_rows = torch.tensor([t for t, _ in pairs], dtype=torch.long)
    source_rows = torch.tensor([s for _, s in pairs], dtype=torch.long)
    state = target.state_dict()
    for key, value in state.items():
        if key not in source_state:
            raise ValueError(f"the checkpoint has no weight {key}: is it the same model?")
        source = source_state[key].to(value.dtype)
        if key not in dims:
            if source.shape != value.shape:
                raise ValueError(
                    f"weight {key} is {tuple(source.shape)}, the model's {tuple(value.shape)}"
                )
            value.copy_(source)
            continue
        if not pairs:
            continue
        merged = value.clone()
        block = source
        for axis in dims[key]:
            block = block.index_select(axis, source_rows)
        _put_block(merged, dims[key], target_rows, block)
        value.copy_(merged)
    carried_rows = {t for t, _ in pairs}
    new = tuple(name for t, name in enumerate(target_names) if t not in carried_rows)
    carried = tuple(target_names[t] for t, _ in pairs)
    return ClassTransfer(carried, new, tuple(dims))


def _put_block(tensor: torch.Tensor, axes: tuple, rows: torch.Tensor, block: torch.Tensor) -> None:
    """``tensor[rows on every axis in axes] = block``: one class axis (classifier rows)
    or two (class-to-class upsampling)."""
    if len(axes) == 1:
        tensor.index_copy_(axes[0], rows, block)
        return
    first, rest = axes[0], axes[1:]
    for position, row in enumerate(rows.tolist()):
        _put_block(
            tensor.select(first, row),
            tuple(a - 1 if a > first else a for a in rest),
            rows,
            block.select(first, position),
        )
