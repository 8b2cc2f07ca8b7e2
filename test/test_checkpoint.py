"""Checkpoints: save/load round trips, error reporting, export, atomic writes."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from seg_perception.checkpoint import (
    CheckpointError,
    export_for_inference,
    load_checkpoint,
    load_model,
    save_checkpoint,
)
from seg_perception.classes import CAMVID, ClassSet
from seg_perception.io_utils import atomic_write, write_json
from seg_perception.models import build_model

MODEL_KWARGS = {"inter_channels": 16}


pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    torch.manual_seed(0)
    network = build_model("lraspp", CAMVID.num_classes, **MODEL_KWARGS)
    # a few training-mode passes so the batch-norm statistics are not the defaults
    with torch.no_grad():
        for _ in range(2):
            network(torch.randn(2, 3, 64, 96))
    return network.eval()


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    return torch.randn(2, 3, 64, 96, generator=torch.Generator().manual_seed(1))


def payload(model: torch.nn.Module, **extra: Any) -> dict[str, Any]:
    """A checkpoint dict as the trainer writes it."""
    return {
        "model_name": "lraspp",
        "model_kwargs": dict(MODEL_KWARGS),
        "class_names": list(CAMVID.names),
        "palette": [list(c) for c in CAMVID.colors],
        "state_dict": model.state_dict(),
        **extra,
    }


def predict(model: torch.nn.Module, images: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        return model(images)["out"]


def assert_one_line(error: pytest.ExceptionInfo[CheckpointError]) -> None:
    assert str(error.value)
    assert "\n" not in str(error.value)


def test_round_trip_gives_identical_predictions(
    model: torch.nn.Module, images: torch.Tensor, tmp_path: Path
) -> None:
    path = tmp_path / "model.pt"
    save_checkpoint(path, payload(model, epoch=3))
    loaded, meta = load_model(path, expected_classes=CAMVID)
    assert not loaded.training
    assert meta["epoch"] == 3
    assert meta["model_kwargs"] == MODEL_KWARGS
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    torch.testing.assert_close(predict(loaded, images), predict(model, images), rtol=0, atol=0)


def test_half_round_trip_is_close(
    model: torch.nn.Module, images: torch.Tensor, tmp_path: Path
) -> None:
    full, half = tmp_path / "full.pt", tmp_path / "half.pt"
    save_checkpoint(full, payload(model))
    save_checkpoint(half, payload(model), half=True)
    stored = load_checkpoint(half)["state_dict"]
    assert all(v.dtype == torch.float16 for v in stored.values() if v.is_floating_point())
    assert stored["encoder.body.0.1.num_batches_tracked"].dtype == torch.int64
    assert half.stat().st_size < 0.6 * full.stat().st_size
    # the caller's payload keeps its float32 weights
    assert next(iter(model.state_dict().values())).dtype == torch.float32

    loaded, _ = load_model(half)
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    expected, actual = predict(model, images), predict(loaded, images)
    scale = expected.abs().max().item()
    torch.testing.assert_close(actual, expected, rtol=0, atol=1e-2 * scale)
    agreement = (actual.argmax(1) == expected.argmax(1)).float().mean().item()
    assert agreement > 0.95


def test_class_name_mismatch(model: torch.nn.Module, tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    save_checkpoint(path, payload(model))
    names = list(CAMVID.names)
    names[3] = "Lane"
    expected = ClassSet(tuple(names), CAMVID.colors)
    with pytest.raises(CheckpointError, match="configured classes") as error:
        load_model(path, expected_classes=expected)
    assert "Lane" in str(error.value)
    assert_one_line(error)


def test_state_dict_that_does_not_fit(model: torch.nn.Module, tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    save_checkpoint(path, payload(model, class_names=["a", "b"]))
    with pytest.raises(CheckpointError, match="does not fit its model"):
        load_model(path)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.pt"
    with pytest.raises(CheckpointError, match="not found") as error:
        load_model(path)
    assert str(path) in str(error.value)
    assert_one_line(error)


@pytest.mark.parametrize("kind", ["random", "empty", "truncated"])
def test_corrupt_file(kind: str, model: torch.nn.Module, tmp_path: Path) -> None:
    path = tmp_path / "corrupt.pt"
    if kind == "random":
        path.write_bytes(np.random.default_rng(0).bytes(4096))
    elif kind == "empty":
        path.write_bytes(b"")
    else:
        save_checkpoint(path, payload(model))
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="unreadable") as error:
        load_checkpoint(path)
    assert_one_line(error)


def test_missing_keys(tmp_path: Path) -> None:
    path = tmp_path / "partial.pt"
    torch.save({"model_name": "lraspp", "palette": []}, path)
    with pytest.raises(
        CheckpointError, match="lacks class_names, model_kwargs, state_dict"
    ) as error:
        load_model(path)
    assert_one_line(error)


@pytest.mark.parametrize("content", [torch.zeros(()), 7, [1, 2]])
def test_payload_that_is_not_a_dict(content: object, tmp_path: Path) -> None:
    path = tmp_path / "other.pt"
    torch.save(content, path)
    with pytest.raises(CheckpointError) as error:
        load_checkpoint(path)
    assert_one_line(error)


def test_export_for_inference_drops_training_state(
    model: torch.nn.Module, images: torch.Tensor, tmp_path: Path
) -> None:
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model.zero_grad()
    model.train()
    predict_train = model(images)["out"].mean()
    model.eval()
    predict_train.backward()
    optimizer.step()  # creates momentum buffers: a real optimizer state
    model.zero_grad()
    training = payload(
        model,
        optimizer=optimizer.state_dict(),
        scheduler={"last_epoch": 4},
        history=[{"epoch": 0, "loss": 1.0}],
        epoch=4,
        best_score=0.25,
        config={"lr": 0.1},
    )
    source, target = tmp_path / "last.pt", tmp_path / "export.pt"
    save_checkpoint(source, training)

    exported = export_for_inference(source, target)
    stored = load_checkpoint(target)
    for checkpoint in (exported, stored):
        assert not {"optimizer", "scheduler", "history"} & set(checkpoint)
        assert checkpoint["epoch"] == 4
        assert checkpoint["best_score"] == 0.25
        assert checkpoint["config"] == {"lr": 0.1}
    assert all(v.dtype != torch.float32 for v in stored["state_dict"].values())
    assert target.stat().st_size < source.stat().st_size
    loaded, _ = load_model(target, expected_classes=CAMVID)
    expected, actual = predict(model, images), predict(loaded, images)
    torch.testing.assert_close(actual, expected, rtol=0, atol=1e-2 * expected.abs().max().item())


def test_atomic_write_replaces_target(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "out.txt"
    with atomic_write(target) as tmp:
        assert tmp.parent == target.parent
        assert tmp != target
        tmp.write_text("new")
        assert not target.exists()  # nothing visible until the body succeeds
    assert target.read_text() == "new"
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.txt"]
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


def test_atomic_write_failure_leaves_target_and_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="boom"), atomic_write(target) as tmp:
        tmp.write_text("half-written")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_failed_save_keeps_previous_checkpoint(model: torch.nn.Module, tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    save_checkpoint(path, payload(model, epoch=1))
    with pytest.raises(TypeError, match="pickle"):  # a lock cannot be pickled
        save_checkpoint(path, payload(model, epoch=2, lock=threading.Lock()))
    assert load_checkpoint(path)["epoch"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]


def test_write_json(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    write_json(target, {"miou": 0.5, "classes": ["Sky"]})
    assert json.loads(target.read_text()) == {"miou": 0.5, "classes": ["Sky"]}
    assert target.read_text().endswith("\n")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("model_name", 7, "model_name is a int"),
        ("model_name", "segformer", "unknown model 'segformer'"),
        ("model_kwargs", ["encoder"], "model_kwargs is not a mapping"),
        ("model_kwargs", {"inter_channels": 16, "bogus": 1}, r"unknown keys \['bogus'\]"),
        ("model_kwargs", {"inter_channels": "wide"}, "cannot build lraspp"),
        ("model_kwargs", {"encoder": "vit_huge"}, "cannot build lraspp"),
        ("class_names", "Sky,Road", "class_names is not a non-empty list"),
        ("class_names", [1, 2, 3], "class_names is not a non-empty list"),
        ("class_names", [], "class_names is not a non-empty list"),
        ("palette", [[300, 0, 0]], "palette is not a list of RGB triples"),
        ("state_dict", {"a": 1.0}, "state_dict is not a mapping of names to tensors"),
        ("state_dict", [1, 2], "state_dict is not a mapping of names to tensors"),
    ],
)
def test_crafted_fields_are_one_line_errors(
    model: torch.nn.Module, tmp_path: Path, field: str, value: Any, message: str
) -> None:
    path = tmp_path / "crafted.pt"
    save_checkpoint(path, {**payload(model), field: value})
    with pytest.raises(CheckpointError, match=message) as error:
        load_model(path)
    assert_one_line(error)


def test_shape_mismatch_is_one_line(model: torch.nn.Module, tmp_path: Path) -> None:
    state = dict(model.state_dict())
    key = next(k for k, v in state.items() if v.ndim == 4)
    state[key] = torch.zeros(3, 3, 3, 3)
    del state[next(k for k in state if k.endswith("running_var"))]
    path = tmp_path / "crafted.pt"
    save_checkpoint(path, {**payload(model), "state_dict": state})
    with pytest.raises(CheckpointError, match=r"1 missing .*1 with another shape") as error:
        load_model(path)
    assert_one_line(error)
    assert key in str(error.value)
