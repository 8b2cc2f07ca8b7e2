"""Dense CRF refinement (no ROS): the mean-field result on hand-checkable cases, the
stage in the frame pipeline, its parameters, and the ``eval``/``crf-tune``/``bag-eval``
options."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from seg_perception.cli import main as cli_main
from seg_perception.parameters import ParameterError
from seg_perception.refine.dense_crf import CRFParams, CRFUnavailable, DenseCRF, require_dense_crf
from seg_perception.stages.base import Frame
from seg_perception.stages.build import build_frame_pipeline
from seg_perception.stages.crf import CRFStage
from seg_perception.stages.segmentation_params import SegmentationParams

pytestmark = pytest.mark.usefixtures("torch_one_thread")
SAMPLE = Path(__file__).parents[1] / "seg_perception/samples/camvid/images/Seq05VD_f00000.jpg"


def two_regions(height: int = 40, width: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """A frame that is dark on the left, bright on the right, and the true labels."""
    rgb = np.zeros((height, width, 3), np.uint8)
    rgb[:, width // 2 :] = 220
    truth = np.zeros((height, width), np.int64)
    truth[:, width // 2 :] = 1
    return rgb, truth


def noisy_probabilities(truth: np.ndarray, flipped: float, seed: int = 0) -> np.ndarray:
    """2-class softmax: 0.7 on the true class, except a ``flipped`` fraction at 0.3."""
    rng = np.random.default_rng(seed)
    p_true = np.where(rng.random(truth.shape) < flipped, 0.3, 0.7).astype(np.float32)
    p_one = np.where(truth == 1, p_true, 1.0 - p_true)
    return np.stack([1.0 - p_one, p_one])


def test_without_pairwise_terms_the_marginals_are_the_softmax() -> None:
    """No kernel: the CRF's energy is the unary -log p alone, so Q = p exactly."""
    rng = np.random.default_rng(1)
    probabilities = rng.dirichlet(np.ones(4), size=(12, 16)).transpose(2, 0, 1)
    probabilities = probabilities.astype(np.float32)
    params = CRFParams(iterations=3, smoothness_weight=0.0, appearance_weight=0.0)
    marginals = DenseCRF(params)(probabilities, np.zeros((12, 16, 3), np.uint8))
    np.testing.assert_allclose(marginals, probabilities, atol=1e-5)


def test_isolated_wrong_pixels_take_their_neighbours_label() -> None:
    rgb, truth = two_regions()
    probabilities = noisy_probabilities(truth, flipped=0.15)
    unrefined = probabilities.argmax(0)
    assert 0.1 < (unrefined != truth).mean() < 0.2
    marginals = DenseCRF(CRFParams())(probabilities, rgb)
    np.testing.assert_allclose(marginals.sum(0), 1.0, atol=1e-4)
    assert (marginals.argmax(0) == truth).all()


def test_the_appearance_kernel_keeps_a_colour_edge() -> None:
    """A wide smoothness-only kernel bleeds one label across the edge; the bilateral
    kernel, which does not connect the two colours, keeps the edge where it is."""
    rgb, truth = two_regions(30, 90)
    probabilities = noisy_probabilities(truth, flipped=0.0)
    probabilities[:, :, :45] = np.array([0.55, 0.45], np.float32)[:, None, None]  # unsure
    blurred = CRFParams(smoothness_weight=10.0, smoothness_sxy=60.0, appearance_weight=0.0)
    assert (DenseCRF(blurred)(probabilities, rgb).argmax(0)[:, :45] == 1).mean() > 0.5
    bilateral = CRFParams(smoothness_weight=0.0, appearance_weight=10.0, appearance_sxy=60.0)
    assert (DenseCRF(bilateral)(probabilities, rgb).argmax(0) == truth).all()


def test_the_stage_refines_at_network_size_and_answers_at_frame_size() -> None:
    rgb, truth = two_regions(80, 120)
    small_truth = truth[::2, ::2]
    probabilities = noisy_probabilities(small_truth, flipped=0.15)
    frame = Frame(rgb, data={"probabilities": probabilities})
    out = CRFStage(DenseCRF(CRFParams()))(frame)
    assert out["labels"].shape == out["confidence"].shape == (80, 120)
    assert out["labels"].dtype == np.uint8
    assert (out["labels"] == truth).all()
    assert ((out["confidence"] > 0.5) & (out["confidence"] <= 1.0)).all()


def test_a_frame_of_another_size_is_refused() -> None:
    with pytest.raises(ValueError, match=r"CRF image must be \(4, 5, 3\) uint8"):
        DenseCRF(CRFParams())(np.full((2, 4, 5), 0.5, np.float32), np.zeros((5, 4, 3), np.uint8))


def test_missing_package_is_one_line_with_the_install_command(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "pydensecrf", None)
    monkeypatch.setitem(sys.modules, "pydensecrf.densecrf", None)
    with pytest.raises(CRFUnavailable, match=r"pip install pydensecrf2") as caught:
        require_dense_crf()
    assert "\n" not in str(caught.value)
    with pytest.raises(CRFUnavailable):
        build_frame_pipeline(SegmentationParams(device="cpu", refine="crf"), log=lambda _: None)


@pytest.mark.parametrize("backend", ["torch", "onnxruntime"])
def test_refine_crf_runs_before_the_overlay(backend: str, tmp_path: Path, monkeypatch) -> None:
    from seg_perception.data.camvid import read_rgb

    monkeypatch.setenv("SEG_PERCEPTION_CACHE", str(tmp_path))
    common = {"device": "cpu", "inference_backend": backend, "input_width": 240}
    params = SegmentationParams(refine="crf", input_height=180, **common)
    notes: list[str] = []
    refined, _ = build_frame_pipeline(params, log=notes.append)
    plain, _ = build_frame_pipeline(SegmentationParams(input_height=180, **common), log=print)
    assert [s.name for s in refined.stages] == ["segment", "crf", "overlay"]
    assert any("dense CRF" in note for note in notes)
    assert "probabilities" not in {o.key for o in refined.outputs()}
    rgb = read_rgb(SAMPLE)
    out = refined.run(lambda: rgb)
    before = plain.run(lambda: rgb)
    assert out.status == before.status == "processed", (out.reason, before.reason)
    labels = out.frame.data["labels"]
    assert labels.shape == rgb.shape[:2]
    changed = (labels != before.frame.data["labels"]).mean()
    assert 0.001 < changed < 0.2, changed  # it refines, it does not repaint
    expected_overlay = refined.segmentation.overlay(rgb, labels, refined.overlay.alpha)
    np.testing.assert_array_equal(out.frame.data["overlay"], expected_overlay)
    assert out.frame.timings_ms["crf"] > 0
    assert refined.latency()[1]["non_inference"]["mean"] < out.frame.timings_ms["total"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"refine": "crf", "inference_precision": "int8"}, "refine crf needs the class"),
        ({"refine": "bilateral"}, "refine must be one of none, crf"),
        ({"crf_appearance_srgb": float("nan")}, "crf_appearance_srgb must be a finite"),
        ({"crf_iterations": 0}, r"crf_iterations must be in 1..50"),
        ({"crf_smoothness_sxy": 0.0}, r"crf_smoothness_sxy must be in \(0.0, 1000.0\]"),
    ],
)
def test_bad_crf_parameters_are_one_line(changes: dict, message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        SegmentationParams(**changes).validate()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["eval", "--refine", "crf", "--crf-iterations", "0"], "--crf-iterations: must be in 1"),
        (["eval", "--crf-appearance-sxy", "inf"], "--crf-appearance-sxy: must be finite"),
        (["crf-tune", "--weights", "3,x"], "--weights: not comma-separated numbers"),
        (["crf-tune", "--sxy", "0,5"], "--sxy: needs positive finite numbers"),
    ],
)
def test_cli_mistakes_are_one_line(argv, message, capsys: pytest.CaptureFixture) -> None:
    assert cli_main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


@pytest.fixture(scope="module")
def camvid_root() -> str:
    root = os.environ.get("SEG_PERCEPTION_DATA")
    if not root or not (Path(root) / "camvid" / "val.txt").is_file():
        pytest.skip("SEG_PERCEPTION_DATA holds no camvid/")
    return root


def test_eval_refine_crf_changes_the_score_and_records_the_kernel(
    camvid_root: str, tmp_path: Path
) -> None:
    scores = {}
    for refine in ("none", "crf"):
        out = tmp_path / refine
        argv = ["eval", "--split", "val", "--limit", "2", "--refine", refine]
        argv += ["--crf-appearance-sxy", "40", "--out", str(out), "--data-root", camvid_root]
        assert cli_main(argv) == 0
        scores[refine] = json.loads((out / "metrics.json").read_text())
    assert scores["none"]["refine"] == "none" and scores["none"]["crf"] is None
    assert scores["crf"]["crf"]["appearance_sxy"] == 40.0
    assert scores["crf"]["latency_ms"]["crf"]["mean"] > 0
    assert scores["crf"]["confusion_matrix"] != scores["none"]["confusion_matrix"]


def test_crf_tune_scores_every_grid_point_and_names_the_best(
    camvid_root: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    argv = ["crf-tune", "--limit", "2", "--weights", "0.5,5", "--sxy", "40", "--srgb", "5"]
    assert cli_main([*argv, "--out", str(tmp_path), "--data-root", camvid_root]) == 0
    report = json.loads((tmp_path / "crf_grid.json").read_text())
    assert [p["crf"]["appearance_weight"] for p in report["grid"]] == [0.5, 5.0]
    best = max(report["grid"], key=lambda p: p["mean_iou"])
    assert report["best"] == best
    assert report["frames"] == 2 and report["split"] == "val"
    assert (tmp_path / "crf_examples.png").stat().st_size > 10_000
    printed = capsys.readouterr().out
    weight = best["crf"]["appearance_weight"]
    assert f"--crf-appearance-weight {weight:g}" in printed


def test_a_read_only_frame_is_refined() -> None:
    """The node's frame is a read-only view of the message buffer."""
    rgb, truth = two_regions()
    rgb.flags.writeable = False
    marginals = DenseCRF(CRFParams())(noisy_probabilities(truth, flipped=0.15), rgb)
    assert (marginals.argmax(0) == truth).all()


def test_bag_eval_refine_crf(tmp_path: Path) -> None:
    """``bag-eval --refine crf`` scores the sample bag's labelled frames with the CRF."""
    bag = Path(__file__).parents[1] / "seg_perception/samples/bags/camvid_sample.mcap"
    reports = {}
    for refine in ("none", "crf"):
        path = tmp_path / f"{refine}.json"
        argv = ["bag-eval", "--bag", str(bag), "--image-topic", "/camera/image_raw/compressed"]
        argv += ["--label-topic", "/camera/labels", "--json", str(path), "--refine", refine]
        assert cli_main([*argv, "--device", "cpu", "--threads", "1"]) == 0
        reports[refine] = json.loads(path.read_text())
    crf = reports["crf"]
    assert crf["refine"] == "crf" and crf["crf"]["iterations"] == 5
    assert crf["labelled_frames"] == reports["none"]["labelled_frames"] == 30
    assert crf["failed_frames"] == 0 and "crf" in crf["latency_ms"]
    assert crf["mean_iou"] != reports["none"]["mean_iou"]
