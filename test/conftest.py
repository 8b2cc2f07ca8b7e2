"""Shared fixtures: the repository's paths, a session-wide rclpy test node, node processes.

rclpy is imported inside the fixtures only, so that collecting the pure-Python tests
(including the one asserting that models, data and training never import rclpy) does
not load it into the pytest process.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from seg_perception.nodes.ros_graph import NodeProcess, isolated_ros_env, spin_until

if TYPE_CHECKING:
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.node import Node

MAX_WORKERS = 4  # node processes and torch threads of more workers only contend

REPO_ROOT = Path(__file__).resolve().parents[1]
NODE_EXECUTABLE = "segmentation_node"
OUTPUT_TIMEOUT = 20.0


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: one pytest-xdist worker a core, at most ``MAX_WORKERS``."""
    return max(1, min(os.cpu_count() or 1, MAX_WORKERS))


def pytest_configure(config: pytest.Config) -> None:
    """Each xdist worker's torch (and OpenMP in what it starts) uses one thread unless
    told otherwise: the workers already fill the cores, and oversubscribed spinning
    OpenMP threads run many times slower."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        os.environ.setdefault("OMP_NUM_THREADS", "1")


def repo_config(relative: str = "segmentation.yaml") -> Path:
    """Path of ``config/<relative>`` in this checkout."""
    return REPO_ROOT / "config" / relative


@pytest.fixture(scope="module")
def small_cosine_checkpoint(tmp_path_factory) -> Path:
    """A (untrained) cosine LR-ASPP checkpoint with CamVid's classes and palette."""
    from small_models import save_small_lraspp

    return save_small_lraspp(tmp_path_factory.mktemp("cosine") / "cosine.pt", classifier="cosine")


@pytest.fixture(scope="module")
def torch_one_thread() -> Iterator[None]:
    """Tiny models run faster on one thread than on two contended ones (2-core CI)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def davis_root() -> Path:
    """The data root holding davis2016/, or a skip saying it is missing."""
    value = os.environ.get("SEG_PERCEPTION_DATA")
    if not value or not (Path(value) / "davis2016" / "JPEGImages").is_dir():
        pytest.skip("SEG_PERCEPTION_DATA does not hold davis2016/")
    return Path(value)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def params_file() -> Path:
    path = repo_config()
    assert path.is_file(), f"{path} is missing"
    return path


@dataclass
class RosHarness:
    """The test side of the ROS graph: one node spun by one executor, in an isolated domain."""

    node: Node
    executor: SingleThreadedExecutor
    env: dict[str, str]

    def spin_until(self, condition: Callable[[], bool], timeout: float = OUTPUT_TIMEOUT) -> bool:
        """Spin the test node until ``condition()`` holds; False after ``timeout`` seconds."""
        return spin_until(self.executor, condition, timeout)


@pytest.fixture(scope="session")
def ros() -> Iterator[RosHarness]:
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    with isolated_ros_env() as env:
        rclpy.init()
        node = rclpy.create_node("seg_perception_test_driver")
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        try:
            yield RosHarness(node, executor, env)
        finally:
            executor.shutdown()
            node.destroy_node()
            rclpy.try_shutdown()


class NodeUnderTest(NodeProcess):
    """A ``segmentation_node`` process that can also be waited for."""

    def wait_exit(self, timeout: float) -> int | None:
        """Exit code once the process ends by itself within ``timeout`` s, else None."""
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None


class NodeLauncher:
    """Starts ``segmentation_node`` with the repository's parameter file plus overrides."""

    def __init__(self, env: dict[str, str], params_file: Path):
        self.env = {**env, "PYTHONUNBUFFERED": "1", "RCUTILS_COLORIZED_OUTPUT": "0"}
        self.params_file = params_file

    def command_args(self, ros_args: tuple[str, ...]) -> list[str]:
        return ["--params-file", str(self.params_file), *ros_args]

    @contextmanager
    def run(self, *ros_args: str, log_path: Path) -> Iterator[NodeUnderTest]:
        """Start the node and always stop it (SIGINT, then SIGKILL) when the block ends."""
        process = NodeUnderTest(
            NODE_EXECUTABLE, self.command_args(ros_args), self.env, log_path=log_path
        )
        process.start()
        try:
            yield process
        finally:
            process.stop()


@pytest.fixture(scope="session")
def node_launcher(ros: RosHarness, params_file: Path) -> NodeLauncher:
    return NodeLauncher(ros.env, params_file)


@pytest.fixture
def start_node(
    node_launcher: NodeLauncher, tmp_path: Path
) -> Iterator[Callable[..., NodeUnderTest]]:
    """Factory: ``start_node(*ros_args, name=...)``; every node started is stopped afterwards."""
    with ExitStack() as stack:

        def start(*ros_args: str, name: str = NODE_EXECUTABLE) -> NodeUnderTest:
            return stack.enter_context(
                node_launcher.run(*ros_args, log_path=tmp_path / f"{name}.log")
            )

        yield start


PACKAGE = "seg_perception"
BUILD_TIMEOUT = 300
PACKAGE_CONTENTS = (
    "package.xml",
    "setup.py",
    "setup.cfg",
    "resource",
    PACKAGE,
    "launch",
    "config",
)


@pytest.fixture(scope="session")
def colcon_install(repo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``install/seg_perception`` of a fresh workspace holding a copy of the package."""
    workspace = tmp_path_factory.mktemp("ws")
    source = workspace / "src" / PACKAGE
    source.mkdir(parents=True)
    # dot files: the trainer's half-written checkpoints (atomic_write temporaries)
    ignored = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")
    for name in PACKAGE_CONTENTS:
        origin = repo_root / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=ignored)
        else:
            shutil.copy2(origin, source / name)
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(
        [str(bin_dir / "colcon"), "build", "--base-paths", "src"],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
    )
    assert result.returncode == 0, f"colcon build failed:\n{result.stdout}\n{result.stderr}"
    return workspace / "install" / PACKAGE
