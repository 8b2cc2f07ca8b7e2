"""Labelled frames for trainers and evaluators: CamVid under a data root (the built-in
default) or any dataset spec (``--data SPEC``), behind one small interface."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset
from tqdm import tqdm

from ..classes import CAMVID, IGNORE_INDEX, ClassSet
from .camvid import SPLITS, read_label, read_rgb, resolve_data_root, split_files
from .dataset_spec import DatasetSpec, load_dataset_spec
from .mask_decoding import MaskDecoder
from .spec_files import SplitFile, split_frames

__all__ = [
    "LabelledData",
    "CamVidData",
    "SpecData",
    "SegmentationFrames",
    "CamVid",
    "open_labelled_data",
]


class LabelledData(Protocol):
    """A dataset's classes, the frames of each split and how a mask becomes labels."""

    name: str
    classes: ClassSet
    split_names: tuple[str, ...]

    def files(self, split: str) -> list[SplitFile]: ...

    def read_label(self, path: Path) -> np.ndarray: ...


class CamVidData:
    """CamVid (SegNet split) under a data root: the built-in dataset."""

    name = "camvid"
    classes = CAMVID
    split_names = SPLITS

    def __init__(self, data_root: str | os.PathLike):
        self.data_root = Path(data_root)

    def files(self, split: str) -> list[SplitFile]:
        return split_files(self.data_root, split)

    def read_label(self, path: Path) -> np.ndarray:
        return read_label(path)


class SpecData:
    """A dataset described by a spec (``dataset_spec``)."""

    def __init__(self, spec: DatasetSpec):
        self.spec = spec
        self.name = spec.name
        self.classes = spec.classes
        self.split_names = tuple(spec.splits)
        self._decoder = MaskDecoder(spec)

    def files(self, split: str) -> list[SplitFile]:
        return split_frames(self.spec, split)

    def read_label(self, path: Path) -> np.ndarray:
        return self._decoder.read(path)


def open_labelled_data(data_root: str | None, spec_path: str | None = None) -> LabelledData:
    """The spec's dataset when ``spec_path`` is given (``data_root`` fills its
    ``${SEG_PERCEPTION_DATA}``), else CamVid under the data root."""
    if spec_path:
        return SpecData(load_dataset_spec(spec_path, data_root))
    return CamVidData(resolve_data_root(data_root))


class SegmentationFrames(Dataset):
    """Frames and labels of one or more splits (``train+val``), decoded once and kept in
    memory (resized to ``size`` = (width, height) when given, labels by nearest
    neighbour); ``transform(rgb, label)`` makes the tensors.

    Raises:
        ValueError: an empty split, a missing file, or a mask whose size differs from its
            frame (one line naming the file).
    """

    def __init__(
        self,
        data: LabelledData,
        split: str,
        transform: Callable[[np.ndarray, np.ndarray], tuple[torch.Tensor, torch.Tensor]],
        limit: int | None = None,
        size: tuple[int, int] | None = None,
    ):
        files = [entry for part in split.split("+") for entry in data.files(part)][:limit]
        if not files:
            raise ValueError(f"dataset {data.name}: split {split} has no frames")
        self.classes = data.classes
        self.stems = [stem for stem, _, _ in files]
        self.image_paths = [image for _, image, _ in files]
        self.label_paths = [label for _, _, label in files]
        self.images, self.labels = [], []
        for image_path, label_path in tqdm(
            list(zip(self.image_paths, self.label_paths, strict=True)),
            desc=f"read {data.name} {split}",
            leave=False,
            disable=len(files) < 200,
        ):
            rgb, label = _read_pair(data, image_path, label_path)
            if size is not None and rgb.shape[1::-1] != tuple(size):
                rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
                label = cv2.resize(label, size, interpolation=cv2.INTER_NEAREST)
            self.images.append(rgb)
            self.labels.append(label)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.stems)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.transform(self.images[index], self.labels[index])

    def ignore_classes(self, class_ids: Sequence[int]) -> None:
        """Relabel these classes' pixels as ignored (``IGNORE_INDEX``), in place."""
        if not class_ids:
            return
        for label in self.labels:
            label[np.isin(label, class_ids)] = IGNORE_INDEX


class CamVid(SegmentationFrames):
    """CamVid frames of a data root: ``SegmentationFrames`` over ``CamVidData``."""

    def __init__(
        self,
        data_root: str | os.PathLike,
        split: str,
        transform: Callable[[np.ndarray, np.ndarray], tuple[torch.Tensor, torch.Tensor]],
        limit: int | None = None,
    ):
        super().__init__(CamVidData(data_root), split, transform, limit)


def _read_pair(data: LabelledData, image_path: Path, label_path: Path):
    for path, what in ((image_path, "image"), (label_path, "mask")):
        if not path.is_file():
            raise FileNotFoundError(f"{what} {path} not found")
    rgb, label = read_rgb(image_path), data.read_label(label_path)
    if rgb.shape[:2] != label.shape:
        raise ValueError(
            f"{label_path}: mask is {label.shape[1]}x{label.shape[0]}, its frame "
            f"{image_path.name} {rgb.shape[1]}x{rgb.shape[0]}"
        )
    return rgb, label
