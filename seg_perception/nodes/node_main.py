"""The ``main`` every node shares: init, build, spin until Ctrl-C or shutdown, clean up."""

from __future__ import annotations

import itertools
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import rclpy
import yaml
from rclpy._rclpy_pybind11 import RCLError
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node

__all__ = ["run_node"]

SHUTDOWN_GRACE_S = 10.0  # a node that cannot start is gone after this, whatever DDS does


def run_node(
    name: str,
    factory: Callable[[], Node],
    startup_errors: tuple[type[BaseException], ...],
    args: list[str] | None = None,
) -> int:
    """Run the node ``factory`` builds; 1 with a one-line fatal log when it cannot start
    (a missing or invalid ``--params-file`` included).

    A node that fails in its constructor ends the process itself (``_exit_after_failed_start``):
    the middleware's teardown of the half-built node has been seen to hang.
    """
    problem = _params_file_problem(sys.argv if args is None else args)
    if problem:
        print(f"[FATAL] [{name}]: cannot start: {problem}", file=sys.stderr)
        return 1
    try:
        rclpy.init(args=args)
    except Exception as exc:  # RCLError and friends: bad arguments, unreadable params file
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        print(f"[FATAL] [{name}]: cannot start: {first_line}", file=sys.stderr)
        return 1
    try:
        node = factory()
    except startup_errors as exc:
        rclpy.logging.get_logger(name).fatal(f"cannot start: {exc}")
        _exit_after_failed_start()
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except (RCLError, RuntimeError):
        # Ctrl-C shuts the context down under a callback that was about to publish
        # ("publisher's context is invalid") or under the executor taking a message
        # (pybind11's "Unable to convert call argument"): a clean shutdown, not a crash
        if rclpy.ok():
            raise
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


def _exit_after_failed_start() -> NoReturn:
    """Shut rclpy down and exit with 1; a watchdog exits anyway after
    ``SHUTDOWN_GRACE_S`` if the teardown hangs, and ``os._exit`` skips interpreter
    finalization, where a half-built node's middleware objects would be destroyed again."""
    watchdog = threading.Timer(SHUTDOWN_GRACE_S, os._exit, args=(1,))
    watchdog.daemon = True
    watchdog.start()
    rclpy.try_shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(1)


def _params_file_problem(argv: list[str]) -> str | None:
    """Why a ``--params-file`` argument cannot be used, checked before rcl (which would
    print its own multi-line parser errors); None when every one reads as YAML."""
    for flag, value in itertools.pairwise(argv):
        if flag != "--params-file":
            continue
        path = Path(value)
        if not path.is_file():
            return f"params file {value} not found"
        try:
            document = yaml.safe_load(path.read_text())
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return f"params file {value} is not valid YAML: {reason}"
        if not isinstance(document, dict):
            return f"params file {value} must map node names to ros__parameters"
    return None
