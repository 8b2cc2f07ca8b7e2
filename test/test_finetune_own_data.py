"""Your own data end to end: ``train --data SPEC --init bundled`` with the shipped recipe
on a 3-class dataset (two classes named as CamVid's keep their classifier rows, one is
new), ``eval --data`` on it, a broken dataset refused before anything is written, and a
real ``segmentation_node`` running the fine-tuned checkpoint publishing its classes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
import torch
from cli_process import run_cli
from dataset_builders import class_ids, frame_rgb, index_dataset
from node_classes import labels_and_classes

from seg_perception.checkpoint import DEFAULT_CHECKPOINT, load_checkpoint, load_model
from seg_perception.data import load_dataset_spec
from seg_perception.models import build_model
from seg_perception.training.class_transfer import transfer_weights

if TYPE_CHECKING:
    from conftest import RosHarness

REPO = Path(__file__).resolve().parents[1]
RECIPE = REPO / "config" / "train" / "finetune_own_data.yaml"
NAMES = ("Road", "Car", "cone")  # Road and Car are CamVid classes, cone is new


def _three_class_spec(root: Path) -> Path:
    spec = index_dataset(root)
    text = spec.read_text().replace("name: ground", "name: Road").replace("name: car", "name: Car")
    spec.write_text(text)
    return spec


def _cli(*args: str) -> subprocess.CompletedProcess:
    return run_cli(*args, timeout=300, cwd=REPO)


@pytest.fixture(scope="module")
def fine_tuned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(spec, best checkpoint) of one epoch of the shipped recipe from the bundled model."""
    root = tmp_path_factory.mktemp("own_data")
    spec = _three_class_spec(root / "data")
    run = root / "run"
    result = _cli(
        "train", "--config", str(RECIPE), "--data", str(spec), "--init", "bundled",
        "--epochs", "1", "--out-dir", str(run), "--device", "cpu",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "classes carried over: Road, Car; new: cone" in result.stdout + result.stderr
    return spec, run / "best.pt"


def test_bundled_rows_of_shared_classes_are_carried_over() -> None:
    bundled, payload = load_model(DEFAULT_CHECKPOINT)
    model = build_model(payload["model_name"], len(NAMES), **payload["model_kwargs"])
    fresh = {k: v.clone() for k, v in model.state_dict().items()}
    transfer = transfer_weights(
        model,
        payload["model_name"],
        payload["model_kwargs"],
        bundled.state_dict(),
        tuple(payload["class_names"]),
        NAMES,
    )
    assert transfer.carried == ("Road", "Car") and transfer.new == ("cone",)
    state, source = model.state_dict(), bundled.state_dict()
    road, car = (payload["class_names"].index(name) for name in ("Road", "Car"))
    for key in transfer.class_tensors:
        torch.testing.assert_close(state[key][:2], source[key][[road, car]], rtol=0, atol=0)
        torch.testing.assert_close(state[key][2], fresh[key][2], rtol=0, atol=0)
    shared = "encoder.body.trunk.conv_stem.weight"
    assert shared in state and torch.equal(state[shared], source[shared])


def test_fine_tune_writes_the_spec_classes_into_the_checkpoint(fine_tuned) -> None:
    spec_path, best = fine_tuned
    payload = load_checkpoint(best)
    spec = load_dataset_spec(spec_path)
    assert tuple(payload["class_names"]) == NAMES
    assert [tuple(c) for c in payload["palette"]] == list(spec.classes.colors)
    assert payload["config"]["data"] == str(spec_path)


def test_eval_scores_the_fine_tuned_checkpoint_on_the_spec(fine_tuned, tmp_path: Path) -> None:
    spec, best = fine_tuned
    out = tmp_path / "eval"
    result = _cli("eval", "--data", str(spec), "--checkpoint", str(best), "--split", "val",
                  "--backend", "torch", "--out", str(out))  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["dataset"] == "spec" and metrics["frames"] == 2
    assert list(metrics["per_class_iou"]) == list(NAMES)
    assert 0.0 <= metrics["mean_iou"] <= 1.0


def test_train_refuses_a_broken_dataset_before_writing(tmp_path: Path) -> None:
    spec = _three_class_spec(tmp_path / "data")
    (tmp_path / "data" / "labels" / "train" / "f001.png").unlink()
    run = tmp_path / "run"
    result = _cli("train", "--config", str(RECIPE), "--data", str(spec), "--out-dir", str(run))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("seg-perception train: error: ")
    assert "f001.jpg: no mask" in result.stderr and "dataset check lists them" in result.stderr
    assert not run.exists()


@pytest.mark.ros
@pytest.mark.slow
def test_the_node_runs_the_fine_tuned_checkpoint_with_its_classes(
    fine_tuned, ros: RosHarness, start_node
) -> None:
    """No class_names parameter: the node takes the checkpoint's classes, publishes them
    on ~/class_names and labels a frame with their ids."""
    from seg_perception.image_codec import image_msg_to_array

    _, best = fine_tuned
    rgb = frame_rgb(class_ids(0), 0)
    labels, class_list = labels_and_classes(ros, start_node, "own_data", best, rgb)
    assert [c["name"] for c in class_list["classes"]] == list(NAMES)
    assert labels.header.frame_id == "cam"
    assert int(np.asarray(image_msg_to_array(labels)).max()) < len(NAMES)
