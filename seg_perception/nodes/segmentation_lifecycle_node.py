"""``segmentation_lifecycle_node``: the segmentation node as a managed (lifecycle) node.

Transitions (``~/change_state``, ``~/get_state``; launch_ros ``LifecycleNode``):

- ``configure``: load the models and create the publishers (a bad checkpoint fails
  the transition with its one-line reason and the node stays unconfigured);
- ``activate``: subscribe the camera and start the worker;
- ``deactivate``: stop processing; no outputs, diagnostics say ``inactive``;
- ``cleanup``: free the models and publishers;
- ``shutdown``: from any state, whatever is held is released.

Parameters, topics and outputs are those of ``segmentation_node``.
"""

from __future__ import annotations

import sys

from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn

from .node_main import run_node
from .segmentation_node import STARTUP_ERRORS, declare_segmentation_parameters
from .segmentation_runner import SegmentationRunner

__all__ = ["SegmentationLifecycleNode", "main"]


class SegmentationLifecycleNode(LifecycleNode):
    """Semantic segmentation, brought up and down by lifecycle transitions."""

    def __init__(self, **node_kwargs) -> None:
        super().__init__("segmentation_node", **node_kwargs)
        self.params = declare_segmentation_parameters(self)
        self.runner = SegmentationRunner(self, self.params)

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        try:
            self.runner.configure()
        except STARTUP_ERRORS as exc:
            self.get_logger().error(f"configure failed: {exc}")
            self.runner.cleanup()
            return TransitionCallbackReturn.FAILURE
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.runner.activate()
        return super().on_activate(state)

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.runner.deactivate()
        self.runner.publish_diagnostics()  # say "inactive" now, not a period later
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.runner.cleanup()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.runner.cleanup()
        return TransitionCallbackReturn.SUCCESS

    def on_error(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.get_logger().error(f"error in state {state.label}: releasing everything")
        self.runner.cleanup()
        return TransitionCallbackReturn.SUCCESS

    def destroy_node(self) -> None:
        if hasattr(self, "runner"):
            self.runner.cleanup()
        super().destroy_node()
        # rclpy leaves the lifecycle services (~/get_state, ~/change_state, ...) to the
        # state machine, which only garbage collection would free: destroyed here, so they
        # leave the graph with the node (the process ends without finalization)
        state_machine = getattr(self, "_state_machine", None)
        if state_machine is not None:
            state_machine.destroy_when_not_in_use()


def main(args: list[str] | None = None) -> int:
    return run_node("segmentation_node", SegmentationLifecycleNode, STARTUP_ERRORS, args)


if __name__ == "__main__":
    sys.exit(main())
