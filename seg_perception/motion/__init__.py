"""Motion stream: dense optical flow and its per-camera state (no ROS)."""

from .flow import DIS_PRESETS, FLOW_METHODS, FlowEstimator, flow_to_network_input, flow_to_rgb
from .flow_stream import RESET_REASONS, FlowStream

__all__ = [
    "DIS_PRESETS",
    "FLOW_METHODS",
    "FlowEstimator",
    "FlowStream",
    "RESET_REASONS",
    "flow_to_network_input",
    "flow_to_rgb",
]
