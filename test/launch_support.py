"""Running launch files under the real launch runtime, for the launch tests.

Where ROS 2 is installed, its ``launch``/``launch_ros``/``launch_testing`` are used.
Elsewhere the vendored, unmodified sources of each release (Humble, Jazzy) are put on
``PYTHONPATH``: ``$SEG_PERCEPTION_ROS2_LAUNCH`` or ``../shared/vendor/ros2-launch``
beside the checkout. The package comes from a colcon build (``AMENT_PREFIX_PATH``), as
``ros2 launch`` finds it.
"""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
RUN_LAUNCH = Path(__file__).resolve().parent / "launch" / "run_launch.py"
VENDOR_PACKAGES = ("launch", "launch_ros", "launch_testing", "launch_testing_ros", "launch_yaml")
RELEASES = ("humble", "jazzy")


@dataclass(frozen=True)
class LaunchRelease:
    """Where one release's launch packages come from: ``python_path`` entries (none when
    ROS 2 is installed and its own packages are importable)."""

    name: str
    python_path: tuple[str, ...] = ()


def vendor_root() -> Path | None:
    configured = os.environ.get("SEG_PERCEPTION_ROS2_LAUNCH")
    root = (
        Path(configured) if configured else REPO_ROOT.parent / "shared" / "vendor" / "ros2-launch"
    )
    return root if root.is_dir() else None


def launch_releases() -> tuple[list[LaunchRelease], str]:
    """The releases to test with, or none and the one-line reason to skip."""
    if importlib.util.find_spec("launch_ros") is not None:
        return [LaunchRelease("installed")], ""
    root = vendor_root()
    if root is None:
        return [], (
            "no ROS 2 launch packages: install ROS 2, or put the vendored sources at "
            "../shared/vendor/ros2-launch (or $SEG_PERCEPTION_ROS2_LAUNCH)"
        )
    releases = []
    for name in RELEASES:
        folder = root / name
        if folder.is_dir():
            paths = [str(folder / package) for package in VENDOR_PACKAGES]
            releases.append(LaunchRelease(name, (*paths, str(root / "shim"))))
    return releases, "" if releases else f"{root} holds no release folder"


def launch_env(base: dict[str, str], release: LaunchRelease, install: Path) -> dict[str, str]:
    """``base`` plus the release's packages and the colcon install prefix."""
    env = dict(base)
    python_path = [*release.python_path, env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(p for p in python_path if p)
    prefixes = [str(install), env.get("AMENT_PREFIX_PATH", "")]
    env["AMENT_PREFIX_PATH"] = os.pathsep.join(p for p in prefixes if p)
    env["PYTHONUNBUFFERED"] = "1"
    env["RCUTILS_COLORIZED_OUTPUT"] = "0"
    env.setdefault("SEG_PERCEPTION_SIGTERM_TIMEOUT", "60")  # a clean exit, however loaded
    return env


class LaunchRun:
    """``ros2 launch`` of one launch file as its own process (stopped with SIGINT)."""

    def __init__(self, launch_file: Path, arguments: dict[str, str], env: dict, log: Path):
        self.log_path = log
        command = [sys.executable, str(RUN_LAUNCH), str(launch_file)]
        command += [f"{k}:={v}" for k, v in arguments.items()]
        self._log = log.open("w")
        self.process = subprocess.Popen(
            command, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for(self, pattern: str, timeout: float = 60.0) -> re.Match | None:
        """The first match of ``pattern`` in the launch output within ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, self.output())
            if found or self.process.poll() is not None:
                return found or re.search(pattern, self.output())
            time.sleep(0.2)
        return None

    def stop(self, timeout: float = 150.0) -> int:
        """SIGINT to the launch's process group, as Ctrl-C in a terminal sends it (launch
        then leaves its children to the signal they got themselves and only escalates to
        SIGTERM after ``sigterm_timeout``); the exit code, or -9 if it hung."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
                self._log.close()
                return -9
        self._log.close()
        return self.process.returncode

    def report(self, what: str) -> str:
        return f"{what}\n--- {self.log_path} ---\n{self.output()[-4000:]}"
