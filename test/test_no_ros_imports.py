"""Models, data, training, evaluation, the pipeline and the offline bag tools must not import
rclpy (see STYLE.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROS_FREE_MODULES = (
    "seg_perception.models",
    "seg_perception.data",
    "seg_perception.training.train_segmentation",
    "seg_perception.evaluation",
    "seg_perception.inference.segmentation_pipeline",
    "seg_perception.checkpoint",
    "seg_perception.image_codec",
    "seg_perception.stages.segmentation_params",
    "seg_perception.bags.image_messages",
    "seg_perception.bags.bag_formats",
    "seg_perception.bags.bag_reader",
    "seg_perception.bags.bag_writer",
    "seg_perception.bags.bag_make",
    "seg_perception.bags.bag_eval",
    "seg_perception.bags.bag_extract",
    "seg_perception.instances.segmenter",
    "seg_perception.instances.coco_eval",
    "seg_perception.training.train_instances",
    "seg_perception.driving.sim",
    "seg_perception.driving.demos",
    "seg_perception.driving.bag_demos",
    "seg_perception.driving.drive_eval",
    "seg_perception.driving.policy_runner",
    "seg_perception.training.train_policy",
    "seg_perception.vos",
    "seg_perception.vos.target_tracker",
    "seg_perception.stages.vos",
    "seg_perception.training.train_vos_parent",
    "seg_perception.fewshot",
    "seg_perception.data.dataset_check",
    "seg_perception.training.class_transfer",
    "seg_perception.stages.uncertain_frames",
    "seg_perception.web.live_state",
    "seg_perception.web.server",
)

REPO = Path(__file__).resolve().parents[1]

PROBE = """
import importlib, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
leaked = sorted(m for m in sys.modules if m == "rclpy" or m.startswith("rclpy."))
print(" ".join(leaked))
"""


def imported_ros_modules(*modules: str) -> list[str]:
    """Import ``modules`` in a fresh interpreter; return the rclpy modules it then holds."""
    completed = subprocess.run(
        [sys.executable, "-c", PROBE, *modules],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.split()


def test_ros_free_modules_do_not_import_rclpy() -> None:
    assert imported_ros_modules(*ROS_FREE_MODULES) == []


def test_probe_detects_rclpy() -> None:
    pytest.importorskip("rclpy", reason="rclpy is not installed")
    assert "rclpy" in imported_ros_modules("rclpy")
