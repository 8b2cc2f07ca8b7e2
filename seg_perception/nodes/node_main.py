"""The ``main`` every node shares: init, build, spin until Ctrl-C or shutdown, clean up."""

from __future__ import annotations

from collections.abc import Callable

import rclpy
from rclpy._rclpy_pybind11 import RCLError
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node

__all__ = ["run_node"]


def run_node(
    name: str,
    factory: Callable[[], Node],
    startup_errors: tuple[type[BaseException], ...],
    args: list[str] | None = None,
) -> int:
    """Run the node ``factory`` builds; 1 with a one-line fatal log when it cannot start."""
    rclpy.init(args=args)
    try:
        node = factory()
    except startup_errors as exc:
        rclpy.logging.get_logger(name).fatal(f"cannot start: {exc}")
        rclpy.try_shutdown()
        return 1
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except RCLError:
        # Ctrl-C shuts the context down under a callback that was about to publish
        # ("publisher's context is invalid"): that is a clean shutdown, not a crash
        if rclpy.ok():
            raise
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return 0
