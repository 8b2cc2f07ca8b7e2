"""``nodes/node_main.py``'s stop handling in a real process: SIGINT only requests a stop
(also when it lands in the middle of a message take), and a process whose stop gets
stuck prints its thread stacks and exits with 1."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from seg_perception.nodes.ros_graph import isolated_ros_env

STUCK_AFTER_SIGINT = """
import os, signal, sys, time
from seg_perception.nodes.node_main import StopRequest

stop = StopRequest(grace_s=1.0)
stop.install()
os.kill(os.getpid(), signal.SIGINT)

def stuck_teardown():
    print("requested", stop.requested, flush=True)  # from here on, the stack shows it
    time.sleep(60)  # a teardown that never returns

stuck_teardown()
"""


def test_a_stop_that_gets_stuck_dumps_stacks_and_exits_1() -> None:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", STUCK_AFTER_SIGINT],
        capture_output=True, text=True, timeout=50, check=False,
    )  # fmt: skip
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert time.monotonic() - started < 40
    assert result.stdout.strip() == "requested True"
    assert "stop requested 1 s ago and the process is still running" in result.stderr
    assert "in stuck_teardown" in result.stderr, result.stderr


HANGING_SHUTDOWN_AFTER_FAILED_START = """
import time
import rclpy
from seg_perception.nodes import node_main

def hanging_shutdown():
    time.sleep(60)  # the middleware's teardown of a half-built node, stuck

node_main.SHUTDOWN_GRACE_S = 1.0
rclpy.try_shutdown = hanging_shutdown
node_main._exit_after_failed_start()
"""


def test_a_failed_start_whose_shutdown_hangs_dumps_stacks_and_exits_1() -> None:
    """The guard for the node seen running 60 s after its FATAL start-up line: the
    process is gone after the grace and names the call it was stuck in."""
    result = subprocess.run(
        [sys.executable, "-c", HANGING_SHUTDOWN_AFTER_FAILED_START],
        capture_output=True, text=True, timeout=50, check=False,
    )  # fmt: skip
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert "cannot start, shutdown began 1 s ago and the process is still running" in (
        result.stderr
    )
    assert "in hanging_shutdown" in result.stderr, result.stderr


def test_a_shutdown_stuck_in_c_with_the_gil_still_ends_with_its_stacks() -> None:
    """The FATAL-then-running node of a hog run (2026-12-06) outlived the Python timer
    too: a shutdown stuck in C holding the GIL leaves no Python thread able to run.
    faulthandler's C thread then dumps the stacks and exits 1 (here the stuck call is a
    libc sleep called through ctypes.PyDLL, which keeps the GIL)."""
    code = HANGING_SHUTDOWN_AFTER_FAILED_START.replace(
        "    time.sleep(60)", "    ctypes.PyDLL(None).sleep(60)"
    ).replace("import time", "import ctypes, time")
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=50, check=False
    )
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert time.monotonic() - started < 40
    assert "Timeout (0:00:06)!" in result.stderr, result.stderr
    assert "in hanging_shutdown" in result.stderr, result.stderr
    assert "is still running" not in result.stderr  # the Python timer could not run


def test_sigusr1_prints_the_stacks_of_a_running_process() -> None:
    code = STUCK_AFTER_SIGINT.replace("os.kill(os.getpid(), signal.SIGINT)", "")
    process = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout.readline().strip() == "requested False"
        process.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + 30
        lines = []
        while time.monotonic() < deadline:
            line = process.stderr.readline()
            lines.append(line)
            if "in stuck_teardown" in line:
                break
        assert any("in stuck_teardown" in line for line in lines), lines
        assert process.poll() is None  # a dump, not an exit
    finally:
        process.kill()
        process.wait()


# Ctrl-C arriving while rclpy converts a taken message into Python: the generated C
# converter calls the message class, the pending Python signal handler runs inside that
# call, and whatever it raises makes the converter return NULL, which pybind11 reports as
# "Unable to convert call argument '0' to Python object" from ``take_message``. The
# patched ``__init__`` delivers the SIGINT exactly there, so the race is deterministic.
SIGINT_DURING_TAKE = """
import signal, sys
import rclpy
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions
from std_msgs.msg import String, _string

handlers = sys.argv[1]
original_init = _string.String.__init__
armed = False

def init_interrupted_by_ctrl_c(self, *args, **kwargs):
    global armed
    if armed:
        armed = False
        signal.raise_signal(signal.SIGINT)
    original_init(self, *args, **kwargs)

_string.String.__init__ = init_interrupted_by_ctrl_c
if handlers == "rclpy":  # what every node's main did before StopRequest
    rclpy.init()
else:
    from seg_perception.nodes.node_main import StopRequest, spin_until_stopped
    rclpy.init(signal_handler_options=SignalHandlerOptions.NO)
    stop = StopRequest()
    stop.install()
node = Node("take_message_probe")
received = []
node.create_subscription(String, "probe", received.append, 10)
publisher = node.create_publisher(String, "probe", 10)
while publisher.get_subscription_count() == 0:
    rclpy.spin_once(node, timeout_sec=0.1)
publisher.publish(String(data="frame"))
armed = True
if handlers == "rclpy":
    try:
        rclpy.spin(node)
    except KeyboardInterrupt:
        print("clean Ctrl-C")
else:
    spin_until_stopped(node, stop)
    print("received", [message.data for message in received], "stop", stop.requested)
node.destroy_node()
rclpy.try_shutdown()
"""


def _run_sigint_during_take(handlers: str) -> subprocess.CompletedProcess:
    with isolated_ros_env() as env:
        return subprocess.run(
            [sys.executable, "-c", SIGINT_DURING_TAKE, handlers],
            capture_output=True, text=True, timeout=60, check=False, env=env,
        )  # fmt: skip


@pytest.mark.ros
def test_ctrl_c_during_a_message_take_with_rclpy_handlers_is_a_crash() -> None:
    """The few-shot node's exit 1 (issue 35), reproduced: with rclpy's handlers chaining
    to Python's KeyboardInterrupt, Ctrl-C in the middle of a take is an error, not a
    clean exit. Which error depends on who acts first: Python's handler inside the
    converter (the take_message RuntimeError), or rclpy's signal thread shutting the
    context down before the executor builds its next wait set (seen once under a CPU
    hog)."""
    result = _run_sigint_during_take("rclpy")
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert "clean Ctrl-C" not in result.stdout
    take_crash = "sub.handle.take_message(" in result.stderr and (
        "Unable to convert call argument '0' to Python object" in result.stderr
    )
    context_gone = "failed to initialize wait set: the given context is not valid" in (
        result.stderr
    )
    assert take_crash or context_gone, result.stderr


@pytest.mark.ros
def test_ctrl_c_during_a_message_take_with_stop_request_ends_cleanly() -> None:
    """The nodes' StopRequest only records the request: the taken message is delivered,
    the spin loop ends after that callback and the process exits 0."""
    result = _run_sigint_during_take("stop_request")
    assert result.returncode == 0, (result.returncode, result.stdout, result.stderr)
    assert result.stdout.strip() == "received ['frame'] stop True", result.stdout
    assert "Traceback" not in result.stderr, result.stderr
