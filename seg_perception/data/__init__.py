"""Datasets and paired image/label transforms (no ROS imports)."""

from ..models.normalization import normalize_image
from .camvid import resolve_data_root
from .dataset_spec import DatasetSpec, DatasetSpecError, load_dataset_spec
from .labelled_data import (
    CamVid,
    CamVidData,
    LabelledData,
    SegmentationFrames,
    SpecData,
    open_labelled_data,
)
from .transforms import EvalTransform, TrainTransform

__all__ = [
    "CamVid",
    "CamVidData",
    "DatasetSpec",
    "DatasetSpecError",
    "EvalTransform",
    "LabelledData",
    "SegmentationFrames",
    "SpecData",
    "TrainTransform",
    "load_dataset_spec",
    "normalize_image",
    "open_labelled_data",
    "resolve_data_root",
]
