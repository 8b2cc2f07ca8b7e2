"""Metrics and evaluators (no ROS imports)."""

from .metrics import ConfusionMatrix

__all__ = ["ConfusionMatrix"]
