"""Packaging: a colcon build of the package in a temporary workspace, and the launch file."""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path

import pytest

PACKAGE = "seg_perception"
DECLARE = "DeclareLaunchArgument"


@pytest.mark.slow
@pytest.mark.parametrize(
    "script",
    [
        "segmentation_node",
        "segmentation_lifecycle_node",
        "sim_bridge_node",
        "policy_node",
        "seg-perception",
    ],
)
def test_console_scripts_installed_where_ros2_run_looks(colcon_install: Path, script: str) -> None:
    path = colcon_install / "lib" / PACKAGE / script
    assert path.is_file() and os.access(path, os.X_OK), f"{path} missing or not executable"


@pytest.mark.slow
@pytest.mark.parametrize(
    "relative",
    [
        f"share/{PACKAGE}/package.xml",
        f"share/{PACKAGE}/launch/segmentation.launch.py",
        f"share/{PACKAGE}/config/segmentation.yaml",
        f"share/{PACKAGE}/config/rviz/segmentation.rviz",
        f"share/{PACKAGE}/config/dds/fastdds_large_images.xml",
        f"share/{PACKAGE}/config/motion/two_stream_davis.yaml",
        f"share/{PACKAGE}/config/motion/mobilenet/two_stream_davis.yaml",
        f"share/{PACKAGE}/config/vos/osvos.yaml",
        f"share/{PACKAGE}/config/vos/onavos.yaml",
        f"share/{PACKAGE}/config/train/ablation/lraspp_ce.yaml",
        f"share/{PACKAGE}/config/train/zoo/lraspp_lite0.yaml",
        f"share/{PACKAGE}/config/fewshot/protocol.yaml",
        f"share/{PACKAGE}/config/instances/maskrcnn_camvid.yaml",
        f"share/{PACKAGE}/launch/driving_sim.launch.py",
        f"share/{PACKAGE}/config/driving/sim_bridge.yaml",
        f"share/{PACKAGE}/config/driving/policy_node.yaml",
        f"share/{PACKAGE}/config/driving/segmentation.yaml",
        f"share/ament_index/resource_index/packages/{PACKAGE}",
    ],
)
def test_share_files_installed(colcon_install: Path, relative: str) -> None:
    assert (colcon_install / relative).is_file(), f"{relative} not installed"


@pytest.mark.slow
def test_python_package_carries_checkpoint_and_samples(colcon_install: Path) -> None:
    installed = sorted(colcon_install.glob(f"lib/python3*/site-packages/{PACKAGE}"))
    assert len(installed) == 1, f"installed python package: {installed}"
    package = installed[0]
    assert (package / "checkpoints" / "lraspp_camvid.pt").is_file()
    assert (package / "checkpoints" / "lraspp_camvid_int8.onnx").is_file()
    assert (package / "checkpoints" / "fewshot" / "lraspp_cosine_base8.pt").is_file()
    assert (package / "checkpoints" / "motion" / "two_stream_fold_a.pt").is_file()
    assert (package / "checkpoints" / "vos" / "parent_fold_a.pt").is_file()
    assert sorted((package / "samples" / "camvid" / "images").glob("*.jpg"))
    assert (package / "nodes" / "segmentation_node.py").is_file()
    assert (package / "checkpoints" / "maskrcnn_camvid.pt").is_file()
    assert (package / "checkpoints" / "driving" / "policy.pt").is_file()
    assert (package / "checkpoints" / "driving" / "segmentation.pt").is_file()


def declared_launch_arguments(launch_file: Path) -> dict[str, dict[str, ast.expr]]:
    """``DeclareLaunchArgument`` calls of a launch file: name -> keyword arguments."""
    declared = {}
    for call in ast.walk(ast.parse(launch_file.read_text(), str(launch_file))):
        if not isinstance(call, ast.Call) or getattr(call.func, "id", None) != DECLARE:
            continue
        name = call.args[0]
        assert isinstance(name, ast.Constant), ast.dump(name)
        declared[name.value] = {kw.arg: kw.value for kw in call.keywords}
    return declared


def documented_launch_arguments(repo_root: Path) -> set[str]:
    """The names docs/reference.md's "Launch arguments:" paragraph documents (`name` (...))."""
    text = (repo_root / "docs" / "reference.md").read_text()
    paragraph = text.split("Launch arguments:", 1)[1].split("\n\n", 1)[0]
    return set(re.findall(r"`(\w+)` \(", paragraph))


def test_launch_file_declares_documented_arguments(repo_root: Path) -> None:
    declared = declared_launch_arguments(repo_root / "launch" / "segmentation.launch.py")
    assert set(declared) == documented_launch_arguments(repo_root), sorted(declared)
    undocumented = [name for name, keywords in declared.items() if "description" not in keywords]
    assert not undocumented, f"launch arguments without a description: {undocumented}"
    for name in ("compressed", "model", "use_flow"):
        assert "choices" in declared[name], f"launch argument {name} lists no choices"


def test_driving_launch_file_declares_documented_arguments(repo_root: Path) -> None:
    declared = declared_launch_arguments(repo_root / "launch" / "driving_sim.launch.py")
    assert set(declared) == {"step_mode", "seed", "checkpoint", "segmentation"}, sorted(declared)
    for name, keywords in declared.items():
        assert "description" in keywords, f"launch argument {name} has no description"
    for name in ("step_mode", "segmentation"):
        assert "choices" in declared[name], f"launch argument {name} lists no choices"


def test_driving_params_files_hold_every_declared_parameter(repo_root: Path) -> None:
    import yaml

    from seg_perception.nodes.policy_node import _PARAMS as POLICY_PARAMS
    from seg_perception.nodes.sim_bridge_node import _PARAMS as BRIDGE_PARAMS

    for file, node, declared in (
        ("sim_bridge.yaml", "sim_bridge_node", BRIDGE_PARAMS),
        ("policy_node.yaml", "policy_node", POLICY_PARAMS),
    ):
        values = yaml.safe_load((repo_root / "config" / "driving" / file).read_text())
        assert set(values[node]["ros__parameters"]) == set(declared), file
