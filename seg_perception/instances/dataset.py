"""CamVid frames with instance targets derived from the label PNGs (for Mask R-CNN).

CamVid has no instance annotation: each connected component (8-connected, at least
``min_area`` pixels) of a thing class in a label PNG is taken as one object. The same
derivation gives the test ground truth of ``eval-instances``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from ..data.labelled_data import CamVid
from .components import Instance, instances_from_labels

__all__ = ["CamVidInstances", "instance_targets", "collate_detection"]


def instance_targets(
    instances: Sequence[Instance], thing_class_ids: Sequence[int], shape: tuple[int, int]
) -> dict[str, torch.Tensor]:
    """torchvision detection targets: ``boxes`` (x1, y1, x2, y2), ``labels`` (1-based thing
    index) and ``masks`` (N, H, W) uint8."""
    index = {class_id: k + 1 for k, class_id in enumerate(thing_class_ids)}
    boxes = [[x, y, x + w, y + h] for x, y, w, h in (inst.bbox for inst in instances)]
    return {
        "boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
        "labels": torch.tensor([index[inst.class_id] for inst in instances], dtype=torch.int64),
        "masks": torch.from_numpy(
            np.stack([inst.mask for inst in instances]).astype(np.uint8)
            if instances
            else np.zeros((0, *shape), dtype=np.uint8)
        ),
    }


class CamVidInstances(Dataset):
    """Images (3, H, W) float in [0, 1] and derived instance targets of CamVid split(s).

    Args:
        data_root: folder holding ``camvid/``.
        split: ``train``, ``val``, ``test`` or joined by ``+``.
        thing_class_ids: CamVid ids of the object classes.
        min_area: smallest component kept, in pixels.
        hflip: flip half the samples left-right (training augmentation).
        limit: keep only the first ``limit`` frames.
    """

    def __init__(
        self,
        data_root: str | os.PathLike,
        split: str,
        thing_class_ids: Sequence[int],
        min_area: int = 50,
        hflip: bool = False,
        limit: int | None = None,
        seed: int = 0,
    ):
        self.frames = CamVid(
            data_root, split, transform=lambda rgb, label: (rgb, label), limit=limit
        )
        self.thing_class_ids = list(thing_class_ids)
        self.min_area = min_area
        self.hflip = hflip
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.frames)

    def instances(self, index: int) -> list[Instance]:
        """The derived ground-truth instances of frame ``index`` (no augmentation)."""
        _, label = self.frames[index]
        return instances_from_labels(label, self.thing_class_ids, self.min_area)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        rgb, label = self.frames[index]
        if self.hflip and self.rng.random() < 0.5:
            rgb, label = rgb[:, ::-1], label[:, ::-1]
        label = np.ascontiguousarray(label)
        instances = instances_from_labels(label, self.thing_class_ids, self.min_area)
        image = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).float() / 255
        return image, instance_targets(instances, self.thing_class_ids, label.shape)


def collate_detection(batch):
    """Detection batches are lists (images differ in their number of objects)."""
    images, targets = zip(*batch, strict=True)
    return list(images), list(targets)
