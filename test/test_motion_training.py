"""Two-stream training on DAVIS folds, the held-out evaluation and its CLI.

Reads DAVIS 2016 from ``$SEG_PERCEPTION_DATA`` (skipped when unset).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from seg_perception.checkpoint import (
    MOBILENET_CHECKPOINT,
    load_checkpoint,
    load_model,
)
from seg_perception.cli import main
from seg_perception.data.davis import davis_sequences, load_sequence
from seg_perception.evaluation.motion_eval import assign_checkpoints
from seg_perception.motion import FlowEstimator
from seg_perception.motion.motion_pipeline import MotionPipeline
from seg_perception.training.motion_config import MotionTrainConfig, load_motion_config
from seg_perception.training.train_motion import foreground_loss, train_motion

REPO = Path(__file__).resolve().parents[1]
FOLDS = {"a": ["blackswan"], "b": ["camel"]}

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def tiny_config(out_dir: Path, use_flow: bool = True) -> MotionTrainConfig:
    return MotionTrainConfig(
        folds=FOLDS,
        use_flow=use_flow,
        init_segmentation="mobilenet",
        input_size=(96, 64),
        epochs=1,
        batch_size=2,
        frame_limit=4,
        out_dir=str(out_dir),
    )


@pytest.fixture(scope="module")
def fold_checkpoints(davis_root: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    out = tmp_path_factory.mktemp("motion")
    return [train_motion(tiny_config(out), davis_root, fold, device="cpu") for fold in FOLDS]


def test_training_writes_a_held_out_record(fold_checkpoints: list[Path]) -> None:
    payload = load_checkpoint(fold_checkpoints[0])
    assert payload["fold"] == "a"
    assert payload["train_sequences"] == ["blackswan"]
    assert payload["input_size"] == [96, 64]
    assert payload["flow"] == {"method": "dis", "preset": "fast"}
    log = (fold_checkpoints[0].parent / "log.csv").read_text().splitlines()
    assert log[0] == "epoch,loss,seconds" and len(log) == 2


def test_export_keeps_what_eval_motion_needs(fold_checkpoints: list[Path], tmp_path: Path) -> None:
    from seg_perception.checkpoint import export_for_inference

    exported = export_for_inference(fold_checkpoints[0], tmp_path / "small.pt")
    source = load_checkpoint(fold_checkpoints[0])
    for key in ("fold", "train_sequences", "input_size", "flow", "model_kwargs"):
        assert exported[key] == source[key]
    assert load_checkpoint(tmp_path / "small.pt")["train_sequences"] == ["blackswan"]


def test_frozen_appearance_stays_the_bundled_model(fold_checkpoints: list[Path]) -> None:
    bundled = load_checkpoint(MOBILENET_CHECKPOINT)
    trained = load_checkpoint(fold_checkpoints[0])["state_dict"]
    for key, value in bundled["state_dict"].items():
        target = key.replace("encoder.", "appearance.", 1).replace("head.", "semantic_head.", 1)
        np.testing.assert_array_equal(trained[target].float().numpy(), value.float().numpy())


def test_eval_motion_scores_each_sequence_held_out(
    fold_checkpoints: list[Path], davis_root: Path, tmp_path: Path
) -> None:
    args = ["eval-motion", "--data-root", str(davis_root), "--out", str(tmp_path)]
    args += ["--sequences", "blackswan", "camel", "--frame-limit", "4"]
    for path in fold_checkpoints:
        args += ["--checkpoint", str(path)]
    assert main(args) == 0
    report = json.loads((tmp_path / "metrics.json").read_text())
    summary = report["models"]["custom"]
    rows = {row["sequence"]: row for row in summary["per_sequence"]}
    # blackswan was trained on by fold a, so fold b's checkpoint scores it, and back
    assert rows["blackswan"]["checkpoint"] == fold_checkpoints[1].name
    assert rows["camel"]["checkpoint"] == fold_checkpoints[0].name
    # frames 1-3 of the first 4: frame 0 has no flow; the sequence's last is not reached
    assert summary["frames"] == 6
    for row in rows.values():
        assert 0.0 <= row["j"] <= 1.0 and 0.0 <= row["f"] <= 1.0
    assert summary["jf_mean"] == pytest.approx((summary["j_mean"] + summary["f_mean"]) / 2)
    assert (tmp_path / "per_sequence_j.png").stat().st_size > 0


def test_eval_motion_refuses_a_trained_on_sequence(
    fold_checkpoints: list[Path], davis_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    args = ["eval-motion", "--data-root", str(davis_root), "--out", str(tmp_path)]
    args += ["--sequences", "blackswan", "--checkpoint", str(fold_checkpoints[0])]
    assert main(args) == 2
    assert "every checkpoint was trained on blackswan" in capsys.readouterr().err


def test_assign_checkpoints() -> None:
    payloads = {"A": {"train_sequences": ["x"]}, "B": {"train_sequences": ["y"]}}
    assert assign_checkpoints(payloads, ["x", "y"]) == {"x": "B", "y": "A"}
    with pytest.raises(ValueError, match="several"):
        assign_checkpoints(payloads, ["z"])


def test_pipeline_first_frame_has_no_motion(
    fold_checkpoints: list[Path], davis_root: Path
) -> None:
    model, payload = load_model(fold_checkpoints[1])
    pipeline = MotionPipeline(model, tuple(payload["input_size"]), FlowEstimator(), device="cpu")
    sequence = load_sequence(davis_root, "blackswan")
    first = pipeline(sequence.frame(0), 0.0)
    assert first.foreground is None and first.flow is None
    second = pipeline(sequence.frame(1), 1 / 24)
    assert second.foreground.shape == (480, 854) and second.foreground.dtype == bool
    assert second.flow.shape == (64, 96, 2)
    assert pipeline(sequence.frame(2), 0.0).foreground is None  # stamp went back: reset


def test_single_stream_pipeline_needs_no_previous_frame(davis_root: Path, tmp_path: Path) -> None:
    config = tiny_config(tmp_path, use_flow=False)
    model, payload = load_model(train_motion(config, davis_root, "a", device="cpu"))
    pipeline = MotionPipeline(model, tuple(payload["input_size"]), FlowEstimator(), device="cpu")
    result = pipeline(load_sequence(davis_root, "camel").frame(0), 0.0)
    assert result.foreground is not None and result.flow is None
    assert "flow" not in result.timings_ms


def test_foreground_loss_hand_case() -> None:
    import torch

    logits = torch.zeros(1, 1, 1, 2)  # p = 0.5 everywhere
    masks = torch.tensor([[[[1.0, 0.0]]]])
    # BCE = ln 2; Dice = 1 - (2 * 0.5 + 1) / (1 + 1 + 1) = 1/3
    assert foreground_loss(logits, masks).item() == pytest.approx(np.log(2) + 1 / 3)


def test_shipped_motion_configs(davis_root: Path) -> None:
    configs = [load_motion_config(p) for p in sorted((REPO / "config" / "motion").glob("*.yaml"))]
    assert {c.use_flow for c in configs} == {True, False}
    for config in configs:
        folds = list(config.folds.values())
        assert [len(f) for f in folds] == [10, 10]
        assert sorted(folds[0] + folds[1]) == davis_sequences(davis_root)


def test_motion_config_validation() -> None:
    with pytest.raises(ValueError, match="overlap"):
        MotionTrainConfig(folds={"a": ["x", "y"], "b": ["y"]})
    with pytest.raises(ValueError, match="two named folds"):
        MotionTrainConfig(folds={"a": ["x"]})
    with pytest.raises(ValueError, match="unknown fold"):
        MotionTrainConfig(folds=FOLDS).training_sequences("c")


def test_bench_motion_reports_each_size(davis_root: Path, tmp_path: Path) -> None:
    args = ["bench-motion", "--data-root", str(davis_root), "--frames", "5"]
    assert main([*args, "--sizes", "96x64", "128x96", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "bench_motion.json").read_text())
    assert set(report["sizes"]) == {"96x64", "128x96"}
    for timings in report["sizes"].values():
        assert set(timings["flow"]) == {"dis/ultrafast", "dis/fast", "dis/medium", "farneback"}
        assert {"flow", "inference", "total"} <= set(timings["two_stream"])
        assert "flow" not in timings["single"]  # the single-stream model computes no flow
        assert all(v > 0 for v in timings["flow"].values())


def test_bag_eval_writes_motion_and_flow(
    fold_checkpoints: list[Path], davis_root: Path, tmp_path: Path
) -> None:
    from seg_perception.bags.bag_reader import BagReader
    from seg_perception.bags.image_messages import message_to_rgb

    frames = davis_root / "davis2016" / "JPEGImages" / "480p" / "camel"
    bag = tmp_path / "camel.mcap"
    make = ["bag-make", "--images", str(frames), "--out", str(bag), "--rate", "24"]
    assert main([*make, "--limit", "4", "--encoding", "jpeg"]) == 0
    out, report_path = tmp_path / "out.mcap", tmp_path / "report.json"
    topic = "/camera/image_raw/compressed"
    args = ["bag-eval", "--bag", str(bag), "--image-topic", topic, "--use-flow"]
    args += ["--motion-checkpoint", str(fold_checkpoints[0]), "--out", str(out)]
    assert main([*args, "--json", str(report_path)]) == 0
    report = json.loads(report_path.read_text())
    assert report["motion_frames"] == 3
    assert report["flow_resets"] == {"first frame": 1}
    with BagReader(out) as written:
        assert written.count("/segmentation_node/motion") == 3
        assert written.count("/segmentation_node/flow") == 3
        for message in written.messages(["/segmentation_node/motion"]):
            msg = written.deserialize(message)
            assert (msg.width, msg.height, msg.encoding) == (854, 480, "mono8")
            assert set(np.unique(message_to_rgb(msg, message.msgtype))) <= {0, 255}


def test_crf_moves_the_object_edge_onto_the_colour_edge() -> None:
    """The network's edge is 6 px left of the frame's colour edge; the CRF's logits put
    the threshold on the colour edge and keep the sign elsewhere."""
    from seg_perception.motion.motion_pipeline import crf_object_logits
    from seg_perception.refine.dense_crf import CRFParams, DenseCRF

    rgb = np.zeros((40, 60, 3), np.uint8)
    rgb[:, 30:] = 220  # the object: the bright right half
    logits = np.where(np.arange(60) >= 24, 1.0, -1.0).astype(np.float32)[None].repeat(40, 0)
    refined = crf_object_logits(DenseCRF(CRFParams()), logits, rgb)
    assert refined.shape == logits.shape and refined.dtype == np.float32
    object_side = (np.arange(60) >= 30)[None].repeat(40, 0)
    assert ((logits > 0) == object_side).mean() == pytest.approx(0.9)
    assert ((refined > 0) == object_side).mean() > 0.97
    far_from_edges = np.r_[0:18, 36:60]  # both edges, the network's and the colour's
    np.testing.assert_array_equal(refined[:, far_from_edges] > 0, object_side[:, far_from_edges])


def test_eval_motion_crf_refines_and_records_its_kernel(
    fold_checkpoints: list[Path], davis_root: Path, tmp_path: Path
) -> None:
    from seg_perception.refine.dense_crf import CRFParams

    scores = {}
    for crf in ("--no-crf", "--crf"):
        out = tmp_path / crf
        args = ["eval-motion", "--data-root", str(davis_root), "--out", str(out), crf]
        args += ["--sequences", "camel", "--frame-limit", "4", "--crf-iterations", "3"]
        for path in fold_checkpoints:
            args += ["--checkpoint", str(path)]
        assert main(args) == 0
        report = json.loads((out / "metrics.json").read_text())
        scores[crf] = next(iter(report["models"].values()))
        kernel = {**CRFParams().as_dict(), "iterations": 3}  # the --crf-* options count
        assert report["crf"] == (kernel if crf == "--crf" else None)
        assert list(report["models"]) == ["custom + CRF" if crf == "--crf" else "custom"]
    assert "crf" in scores["--crf"]["latency_ms"] and "crf" not in scores["--no-crf"]["latency_ms"]
    assert scores["--crf"]["per_sequence"] != scores["--no-crf"]["per_sequence"]


def test_motion_crf_parameter_puts_the_crf_in_the_frame_pipeline(
    davis_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``use_flow`` + ``motion_crf``: the node's frame pipeline refines ``~/motion`` with
    the CRF (timed as ``motion_crf``) and its mask differs from the plain one on a real frame."""
    from seg_perception.stages.build import build_frame_pipeline
    from seg_perception.stages.segmentation_params import SegmentationParams

    monkeypatch.setenv("SEG_PERCEPTION_CACHE", str(tmp_path))
    sequence = load_sequence(davis_root, "camel")
    masks = {}
    for crf in (False, True):
        notes: list[str] = []
        common = {"device": "cpu", "inference_backend": "torch", "num_threads": 1}
        params = SegmentationParams(use_flow=True, motion_crf=crf, crf_iterations=4, **common)
        pipeline, _ = build_frame_pipeline(params, log=notes.append)
        assert any("dense CRF" in note for note in notes) == crf
        (motion,) = [stage for stage in pipeline.stages if stage.name == "motion_total"]
        if crf:  # the node's crf_* kernel, not a default one
            assert motion.pipeline.crf.params.iterations == 4
        pipeline.run(lambda: sequence.frame(0), stamp=(0, 0))
        out = pipeline.run(lambda: sequence.frame(1), stamp=(0, 41_666_667))
        assert out.status == "processed", out.reason
        assert ("motion_crf" in out.frame.timings_ms) == crf
        masks[crf] = out.frame.data["motion"]
    assert masks[True].shape == masks[False].shape == (480, 854)
    assert 0.0 < (masks[True] != masks[False]).mean() < 0.2  # it refines, it does not repaint
