"""``nodes/node_main.py``'s stop handling in a real process: SIGINT only requests a stop,
and a process whose stop gets stuck prints its thread stacks and exits with 1."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

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
