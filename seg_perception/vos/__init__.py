"""Semi-supervised video object segmentation: a foreground parent network, OSVOS
(fine-tune on the first frame's mask) and OnAVOS (plus online adaptation); no ROS."""

from .foreground_net import (
    VOS_CLASS_NAMES,
    foreground_net_from_segmentation,
    freeze_batchnorm,
    freeze_early_stages,
    load_vos_parent,
)
from .online import OnlineParams, VideoObjectSegmenter, load_online_params
from .online_targets import online_targets

__all__ = [
    "VOS_CLASS_NAMES",
    "OnlineParams",
    "VideoObjectSegmenter",
    "foreground_net_from_segmentation",
    "freeze_batchnorm",
    "freeze_early_stages",
    "load_online_params",
    "load_vos_parent",
    "online_targets",
]
