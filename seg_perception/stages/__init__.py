"""Per-frame stages of the node and ``bag-eval`` (no ROS): see ``base`` and ``registry``."""

from .base import JSON, BuildContext, Frame, Output, Stage, StageSpec

__all__ = ["JSON", "BuildContext", "Frame", "Output", "Stage", "StageSpec"]
