"""``segmentation_node``: camera images in; labels, overlay, confidence and the optional
stages' outputs out.

Subscribes ``image`` (``sensor_msgs/Image``) or ``image/compressed``
(``sensor_msgs/CompressedImage``); publishes ``~/labels`` (mono8 class ids),
``~/overlay`` (rgb8) and ``~/confidence`` (32FC1), each with the input's header, and
``/diagnostics``. Optional stages (``stages/registry.py``) add theirs: with ``use_flow``
``~/motion`` and ``~/flow``, with ``instance_mode`` fast or maskrcnn ``~/instances/ids``,
``~/instances/overlay`` and ``~/instances/detections``. What happens to a frame is in
``frame_pipeline``; inference runs on a worker thread that always takes the newest frame
(frames replaced before they were processed count as dropped).

``segmentation_node`` starts serving at once; ``segmentation_lifecycle_node`` is the same
node as a managed (lifecycle) node.
"""

from __future__ import annotations

import sys

import torch
from rclpy.node import Node

from ..checkpoint import CheckpointError
from ..stages.segmentation_params import PARAM_SPECS, ParameterError, SegmentationParams
from .node_main import run_node
from .parameter_declaration import declare_specs, undeclared_overrides
from .segmentation_runner import SegmentationRunner

__all__ = ["SegmentationNode", "declare_segmentation_parameters", "main"]

STARTUP_ERRORS = (ParameterError, CheckpointError, ValueError)


def declare_segmentation_parameters(node: Node) -> SegmentationParams:
    """Declare every parameter (the node's and the stages') and validate them once."""
    params = SegmentationParams(**declare_specs(node, PARAM_SPECS))
    for line in undeclared_overrides(node, [spec.name for spec in PARAM_SPECS]):
        node.get_logger().warning(line)
    params.validate()
    if params.num_threads:
        torch.set_num_threads(params.num_threads)
    return params


class SegmentationNode(Node):
    """Semantic segmentation of a camera stream (see the module docstring)."""

    def __init__(self, **node_kwargs) -> None:
        super().__init__("segmentation_node", **node_kwargs)
        self.params = declare_segmentation_parameters(self)
        self.runner = SegmentationRunner(self, self.params)
        self.runner.configure()
        self.runner.activate()

    @property
    def frames(self):
        """The frame pipeline (stages, counters, latency)."""
        return self.runner.frames

    def process_frame(self, msg) -> None:
        """Decode, segment and publish one frame on the calling thread (for the bench)."""
        self.runner.process_frame(msg)

    def destroy_node(self) -> None:
        # rclpy.try_shutdown also destroys a node whose __init__ failed before the runner;
        # cleanup, not only deactivate: every thread of ours ends before the process does
        if hasattr(self, "runner"):
            self.runner.cleanup()
        super().destroy_node()


def main(args: list[str] | None = None) -> int:
    return run_node("segmentation_node", SegmentationNode, STARTUP_ERRORS, args)


if __name__ == "__main__":
    sys.exit(main())
