"""Datasets and paired image/label transforms (no ROS imports)."""

from .camvid import CamVid, resolve_data_root
from .transforms import EvalTransform, TrainTransform, normalize_image

__all__ = ["CamVid", "resolve_data_root", "TrainTransform", "EvalTransform", "normalize_image"]
