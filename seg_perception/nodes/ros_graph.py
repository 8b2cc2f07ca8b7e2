"""Isolated ROS graphs and node processes, for the demo, the benchmark and the tests.

``isolated_ros_env`` picks a ROS domain no other run on this machine holds (a lock
file per domain), limits discovery to localhost, so concurrent runs never see each
other, and applies the package's Fast DDS profile for large images (unless the user
set one). ``NodeProcess`` starts a node's console script in its own process group
and always ends it (SIGINT, then SIGKILL).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from ..package_files import config_file

__all__ = ["isolated_ros_env", "NodeProcess", "node_command", "spin_until", "profile_variable"]

_DOMAIN_RANGE = range(11, 101)
# Fast DDS 3 (Kilted) reads the first and warns on every start when the second is set;
# Fast DDS 2 (Humble, Jazzy) reads the second.
_PROFILE_VARIABLES = (
    "FASTDDS_DEFAULT_PROFILES_FILE",
    "FASTRTPS_DEFAULT_PROFILES_FILE",
)  # Fast DDS ports stay valid below 232; keep clear of 0-10
_FAST_DDS_2_DISTROS = ("humble", "iron", "jazzy")


def profile_variable() -> str:
    """The profiles-file variable the running distribution's Fast DDS reads: from
    ``ROS_DISTRO`` when set (a sourced ROS 2), else the Fast DDS library found beside
    this interpreter (the PyPI wheels ship Fast DDS 3)."""
    distro = os.environ.get("ROS_DISTRO", "").lower()
    if distro:
        return _PROFILE_VARIABLES[1] if distro in _FAST_DDS_2_DISTROS else _PROFILE_VARIABLES[0]
    lib = Path(sys.prefix) / "lib"
    if not list(lib.glob("libfastdds.so.3*")) and list(lib.glob("libfastrtps.so.2*")):
        return _PROFILE_VARIABLES[1]
    return _PROFILE_VARIABLES[0]


@contextmanager
def isolated_ros_env() -> Iterator[dict[str, str]]:
    """Set (in ``os.environ``) and yield an environment with a free ``ROS_DOMAIN_ID``."""
    lock_dir = Path(tempfile.gettempdir()) / "seg_perception_ros_domains"
    lock_dir.mkdir(exist_ok=True)
    start = os.getpid() % len(_DOMAIN_RANGE)
    for offset in range(len(_DOMAIN_RANGE)):
        domain = _DOMAIN_RANGE[(start + offset) % len(_DOMAIN_RANGE)]
        handle = open(lock_dir / f"{domain}.lock", "w")  # noqa: SIM115 - held while in use
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        break
    else:
        raise RuntimeError("no free ROS domain id between 11 and 100")
    saved = {
        k: os.environ.get(k)
        for k in (
            "ROS_DOMAIN_ID",
            "ROS_AUTOMATIC_DISCOVERY_RANGE",
            "ROS_LOCALHOST_ONLY",
            *_PROFILE_VARIABLES,
        )
    }
    os.environ["ROS_DOMAIN_ID"] = str(domain)
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    os.environ.pop("ROS_LOCALHOST_ONLY", None)  # deprecated; conflicts with the range above
    if not any(os.environ.get(k) for k in _PROFILE_VARIABLES):
        os.environ[profile_variable()] = str(config_file("dds/fastdds_large_images.xml"))
    try:
        yield dict(os.environ)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        handle.close()


def node_command(executable: str) -> list[str]:
    """The console script beside this interpreter (the venv's), else on PATH, else
    ``python -m seg_perception.nodes.<executable>``."""
    beside = Path(sys.executable).parent / executable
    if beside.is_file():
        return [str(beside)]
    found = shutil.which(executable)
    if found:
        return [found]
    return [sys.executable, "-m", f"seg_perception.nodes.{executable}"]


class NodeProcess:
    """A node started as its own process: ``with NodeProcess("segmentation_node", ...)``.

    Args:
        executable: console script name.
        ros_args: arguments after ``--ros-args`` (``--params-file F``, ``-r a:=b``, ``-p k:=v``).
        env: environment (from ``isolated_ros_env``).
        log_path: file receiving the node's stdout and stderr.
        prefix: a command the node runs under (a profiler: ``py-spy record ... --``).
    """

    def __init__(
        self,
        executable: str,
        ros_args: Sequence[str] = (),
        env: dict[str, str] | None = None,
        log_path: str | os.PathLike | None = None,
        prefix: Sequence[str] = (),
    ):
        self.executable = executable
        self.command = [*prefix, *node_command(executable), "--ros-args", *ros_args]
        self.env = env
        self.log_path = Path(log_path) if log_path else None
        self.process: subprocess.Popen | None = None
        self._log = None

    def __enter__(self) -> NodeProcess:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def start(self) -> None:
        self._log = open(self.log_path, "wb") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            self.command,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, so children end with it
        )

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGINT the process group, then SIGKILL after ``timeout``; returns the exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGINT)
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
            except ProcessLookupError:
                pass
        if self._log not in (None, subprocess.DEVNULL):
            self._log.close()
        return self.process.returncode

    def log_text(self) -> str:
        return (
            self.log_path.read_text(errors="replace")
            if self.log_path and self.log_path.exists()
            else ""
        )

    def report(self, message: str, lines: int = 40) -> str:
        """``message`` followed by the last ``lines`` lines of the node's log."""
        tail = "\n".join(self.log_text().splitlines()[-lines:])
        state = "running" if self.alive() else f"exited with {self.process.returncode}"
        return f"{message}\n--- {self.log_path} ({state}), last {lines} lines ---\n{tail}"


def spin_until(
    executor, condition: Callable[[], bool], timeout: float, step: float = 0.05
) -> bool:
    """Spin ``executor`` until ``condition()`` is true or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        executor.spin_once(timeout_sec=step)
    return condition()
