"""The ``main`` every node shares: init, build, spin until Ctrl-C or shutdown, clean up.

SIGINT and SIGTERM only ask the spin loop to stop (``StopRequest``); the loop ends
between callbacks and the node is destroyed before rclpy shuts down, on the main thread.
rclpy's own handlers are not installed: they shut the context down from their signal
thread while the main thread may be taking a message or publishing, which ended nodes
with ``RuntimeError``/``RCLError`` tracebacks and exit code 1 instead of a clean exit.
"""

from __future__ import annotations

import faulthandler
import itertools
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import rclpy
import yaml
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions

from .process_exit import exit_after_shutdown

__all__ = ["run_node", "StopRequest", "spin_until_stopped", "arm_exit_watchdog"]

SHUTDOWN_GRACE_S = 10.0  # a node that cannot start is gone after this, whatever DDS does
STOP_POLL_S = 0.1  # the spin loop looks at the stop request at least this often
STOP_GRACE_S = 20.0  # from Ctrl-C or SIGTERM to a finished teardown, at most
GIL_BACKSTOP_S = 5.0  # after a watchdog's grace, when Python itself cannot run


class StopRequest:
    """SIGINT/SIGTERM handlers that only record the request (never raise in the middle of
    a callback or a message conversion); ``requested`` tells the spin loop to end.

    The first request also arms a watchdog: a process still alive ``STOP_GRACE_S`` later
    (a callback or the middleware's teardown stuck) prints every thread's stack on stderr
    and exits with 1, instead of waiting for launch's SIGKILL a minute or two later.
    ``kill -USR1 PID`` prints the stacks of a running node.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, grace_s: float | None = None) -> None:
        self._event = threading.Event()
        self._grace_s = STOP_GRACE_S if grace_s is None else grace_s
        self._watchdog: threading.Timer | None = None

    @property
    def requested(self) -> bool:
        return self._event.is_set()

    def install(self) -> None:
        for number in self.SIGNALS:
            signal.signal(number, self._on_signal)
        faulthandler.register(signal.SIGUSR1, all_threads=True)

    def _on_signal(self, number: int, frame) -> None:
        self._event.set()
        if self._watchdog is None:
            what = f"stop requested {self._grace_s:.0f} s ago"
            self._watchdog = arm_exit_watchdog(what, self._grace_s)


def arm_exit_watchdog(what: str, grace_s: float) -> threading.Timer:
    """Exit with 1, printing every thread's stack, if the process still runs ``grace_s``
    from now.

    Two watchdogs: a Python timer thread (a one-line reason, then the stacks), and, for
    a process whose GIL is held by a call stuck in C (where no Python thread can run),
    faulthandler's own C thread ``GIL_BACKSTOP_S`` later, which dumps the stacks and
    exits with 1 without the GIL. Neither keeps a process that did end alive.
    """
    timer = threading.Timer(grace_s, _exit_stuck, args=(what,))
    timer.daemon = True
    timer.start()
    faulthandler.dump_traceback_later(grace_s + GIL_BACKSTOP_S, exit=True)
    return timer


def _exit_stuck(what: str) -> NoReturn:
    """Print every thread's stack on stderr (what keeps the process alive) and exit 1."""
    print(
        f"[FATAL] {what} and the process is still running: thread stacks follow; exiting",
        file=sys.stderr,
        flush=True,
    )
    faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
    sys.stderr.flush()
    os._exit(1)


def spin_until_stopped(node: Node, stop: StopRequest) -> None:
    """Spin ``node`` on the calling thread until ``stop`` is requested or rclpy shuts down."""
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    try:
        while not stop.requested and rclpy.ok():
            executor.spin_once(timeout_sec=STOP_POLL_S)
    except ExternalShutdownException:
        pass
    finally:
        executor.shutdown(timeout_sec=1.0)


def run_node(
    name: str,
    factory: Callable[[], Node],
    startup_errors: tuple[type[BaseException], ...],
    args: list[str] | None = None,
) -> int:
    """Run the node ``factory`` builds; 1 with a one-line fatal log when it cannot start
    (a missing or invalid ``--params-file`` included).

    A node that ran ends the process with 0 once rclpy is shut down and its context
    destroyed (``exit_after_shutdown``): the participant announces leaving (without
    that, a node restarted under the same name within the lease shared the graph with a
    ghost whose services swallowed requests: a lifecycle test showed it), and the slow
    interpreter finalization is skipped.

    A node that fails in its constructor ends the process itself (``_exit_after_failed_start``):
    the middleware's teardown of the half-built node has been seen to hang.
    """
    faulthandler.enable()  # a native crash (SIGSEGV, SIGABRT) prints every thread's stack
    problem = _params_file_problem(sys.argv if args is None else args)
    if problem:
        print(f"[FATAL] [{name}]: cannot start: {problem}", file=sys.stderr)
        return 1
    stop = StopRequest()
    try:
        rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
        stop.install()
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
        spin_until_stopped(node, stop)
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    exit_after_shutdown(0)


def _exit_after_failed_start() -> NoReturn:
    """Shut rclpy down and exit with 1; a watchdog exits anyway after
    ``SHUTDOWN_GRACE_S`` if the teardown hangs, and ``os._exit`` skips interpreter
    finalization, where a half-built node's middleware objects would be destroyed again.
    A teardown that does hang prints every thread's stack before the watchdog's exit."""
    arm_exit_watchdog(
        f"cannot start, shutdown began {SHUTDOWN_GRACE_S:.0f} s ago", SHUTDOWN_GRACE_S
    )
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
