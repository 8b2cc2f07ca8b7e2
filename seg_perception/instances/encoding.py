"""The instance-id image: pixel = class_id * 1000 + instance number (Cityscapes instanceIds).

Instance numbers are 1-based within each class; 0 means "no instance". Where masks
overlap, the higher-scoring instance owns the pixel.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .components import Instance

__all__ = [
    "assign_instance_ids",
    "encode_instance_ids",
    "decode_instance_ids",
    "MAX_INSTANCES_PER_CLASS",
]

MAX_INSTANCES_PER_CLASS = 999
_MAX_CLASS_ID = 65  # 65 * 1000 + 999 fits uint16


def assign_instance_ids(instances: Sequence[Instance]) -> list[int]:
    """The id of each instance: ``class_id * 1000 + n``, n counting 1, 2, ... per class in
    the order given (callers pass instances best first); 0 past ``MAX_INSTANCES_PER_CLASS``.
    """
    numbers: dict[int, int] = {}
    ids = []
    for inst in instances:
        if not 0 <= inst.class_id <= _MAX_CLASS_ID:
            raise ValueError(f"class id {inst.class_id} does not fit the uint16 encoding")
        number = numbers.get(inst.class_id, 0) + 1
        numbers[inst.class_id] = number
        ids.append(inst.class_id * 1000 + number if number <= MAX_INSTANCES_PER_CLASS else 0)
    return ids


def encode_instance_ids(
    instances: Sequence[Instance], shape: tuple[int, int], ids: Sequence[int] | None = None
) -> np.ndarray:
    """Paint instances into an (H, W) uint16 id image.

    Args:
        instances: the instances, best first.
        shape: (H, W) of the image (every mask's shape).
        ids: their ids, from ``assign_instance_ids`` (computed when omitted).
    """
    if ids is None:
        ids = assign_instance_ids(instances)
    image = np.zeros(shape, dtype=np.uint16)
    for inst in instances:
        if inst.mask.shape != tuple(shape):
            raise ValueError(f"instance mask {inst.mask.shape} does not match {tuple(shape)}")
    painted = [
        (inst.score, value, inst) for inst, value in zip(instances, ids, strict=True) if value
    ]
    # paint the lowest score first so the best instance owns overlapping pixels
    for _, value, inst in sorted(painted, key=lambda item: item[0]):
        image[inst.mask] = value
    return image


def decode_instance_ids(ids: np.ndarray) -> list[tuple[int, int, np.ndarray]]:
    """``(instance_id, class_id, mask)`` for every id present, in increasing id order."""
    if ids.ndim != 2:
        raise ValueError(f"instance ids must be (H, W), got shape {ids.shape}")
    return [
        (int(value), int(value) // 1000, ids == value) for value in np.unique(ids) if value != 0
    ]
