"""``fewshot-eval --data SPEC``: the few-shot protocol on a small synthetic spec dataset
(ground, car, cone; cone novel) with small untrained models of that dataset's classes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dataset_builders import index_dataset
from small_models import save_small_lraspp

from seg_perception.data import SpecData, load_dataset_spec


def _protocol(path: Path, folds: str, base: Path, full: Path) -> Path:
    path.write_text(
        f"folds: {folds}\nbase_checkpoints: ['{base}']\nfully_supervised_checkpoint: '{full}'\n"
        "support_splits: [train]\nmin_class_fraction: 0.01\nshots: [1]\nepisodes: 2\n"
        "seed: 0\nadaptations: [[0.0, 0]]\nalpha: 0.5\nrefine_steps: 2\nrefine_lr: 0.003\n"
        "refine_partial: 0.5\ninput_size: [64, 48]\n"
    )
    return path


@pytest.fixture(scope="module")
def spec_setup(tmp_path_factory) -> dict[str, Path]:
    """The spec dataset (6 train, 2 val frames) and cosine base / linear full checkpoints
    with its classes."""
    folder = tmp_path_factory.mktemp("fewshot_spec")
    spec = index_dataset(folder / "data", frames=8, val=2)
    classes = SpecData(load_dataset_spec(spec)).classes
    return {
        "folder": folder,
        "spec": spec,
        "base": save_small_lraspp(folder / "base.pt", classes, classifier="cosine"),
        "full": save_small_lraspp(folder / "full.pt", classes),
    }


def test_fewshot_eval_runs_on_a_spec_dataset(spec_setup, tmp_path) -> None:
    from seg_perception.cli import main as cli_main

    protocol = _protocol(
        tmp_path / "protocol.yaml", "[[cone]]", spec_setup["base"], spec_setup["full"]
    )
    out = tmp_path / "out"
    argv = ["fewshot-eval", "--data", str(spec_setup["spec"]), "--protocol", str(protocol)]
    assert cli_main([*argv, "--fold", "0", "--split", "val", "--out", str(out)]) == 0
    report = json.loads((out / "fewshot.json").read_text())
    assert report["dataset"] == "spec" and report["split"] == "val"
    assert list(report["fully_supervised_iou"]) == ["ground", "car", "cone"]
    fold = report["folds"]["0"]
    assert fold["novel_classes"] == ["cone"]
    assert set(fold["base_iou_before"]) == {"ground", "car"}
    assert 0 < fold["support_pool_sizes"]["cone"] <= 6
    shots = fold["shots"]["1"]
    assert set(shots["per_adaptation"]["alpha 0.5, refine 2"]["novel_iou"]) == {"cone"}
    assert all(set(e["supports"]) == {"cone"} for e in shots["episodes"])
    assert (out / "fold0_1shot.png").stat().st_size > 1000


@pytest.mark.parametrize(
    ("folds", "split", "message"),
    [
        ("[[Car]]", "val", "fold 0 names Car, not among the dataset's classes"),
        ("[[cone]]", "test", "--split: dataset spec has no split 'test' (it has train, val)"),
    ],
)
def test_fewshot_eval_mistakes_on_a_spec_dataset_are_one_line(
    spec_setup, tmp_path, folds, split, message, capsys: pytest.CaptureFixture
) -> None:
    from seg_perception.cli import main as cli_main

    protocol = _protocol(tmp_path / "protocol.yaml", folds, spec_setup["base"], spec_setup["full"])
    argv = ["fewshot-eval", "--data", str(spec_setup["spec"]), "--protocol", str(protocol)]
    assert cli_main([*argv, "--fold", "0", "--split", split, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not (tmp_path / "out").exists()
