"""End a process that has finished its work without running C++ static destructors."""

from __future__ import annotations

import logging
import os
import sys
from typing import NoReturn

__all__ = ["exit_now"]


def exit_now(code: int) -> NoReturn:
    """Flush, save a coverage run's data, then ``os._exit(code)``.

    For command-line processes that have already shut rclpy down: what remains of a
    normal exit is interpreter finalization and C++ static destructors, where Fast DDS
    has crashed finished processes (ros2/rmw_fastrtps#761: SIGSEGV). Not for nodes: the
    context is not finalized, so the DDS participant does not announce leaving and stays
    in the graph until its lease ends (harmless for a client, not for a node whose
    services a restarted node of the same name takes over).
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
