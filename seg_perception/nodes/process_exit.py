"""End a process that has finished its work without interpreter finalization and C++
static destructors."""

from __future__ import annotations

import logging
import os
import sys
from typing import NoReturn

__all__ = ["exit_now", "exit_after_shutdown"]


def exit_now(code: int) -> NoReturn:
    """Flush, save a coverage run's data, then ``os._exit(code)``.

    For command-line processes that have already shut rclpy down: what remains of a
    normal exit is interpreter finalization and C++ static destructors, where Fast DDS
    has crashed finished processes (ros2/rmw_fastrtps#761: SIGSEGV). The default
    context is not finalized here, so its DDS participant does not announce leaving and
    stays in the graph until its lease ends (harmless for a client); a node ends with
    ``exit_after_shutdown``.
    """
    logging.shutdown()
    coverage = sys.modules.get("coverage")
    current = coverage.Coverage.current() if coverage else None
    if current is not None:  # os._exit skips the atexit hook of a coverage run
        current.stop()
        current.save()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def exit_after_shutdown(code: int) -> NoReturn:
    """End a node's process after ``rclpy.try_shutdown()``: the default context is
    destroyed first (its DDS participant announces leaving, so a node restarted under
    the same name never shares the graph with a ghost), then ``exit_now``.

    A normal exit would spend a second or more of interpreter finalization and static
    destructors (torch, OpenVINO, Fast DDS) with the default signal handlers back in
    place, so a SIGTERM that ``ros2 launch`` sends 5 s after SIGINT on a loaded machine
    killed the process (exit -15) in the middle of it.
    """
    from rclpy.utilities import get_default_context

    get_default_context().destroy()
    exit_now(code)
