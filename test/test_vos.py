"""Semi-supervised video object segmentation: OnAVOS targets, the loss, OSVOS / OnAVOS
fine-tuning, the parent trainer and ``eval-vos``.

The DAVIS tests read ``$SEG_PERCEPTION_DATA`` (skipped when unset).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from vos_scenes import disk_scene

from seg_perception.checkpoint import DEFAULT_CHECKPOINT, load_checkpoint
from seg_perception.classes import IGNORE_INDEX
from seg_perception.cli import main
from seg_perception.evaluation.vos_metrics import region_j
from seg_perception.vos import (
    OnlineParams,
    VideoObjectSegmenter,
    foreground_net_from_segmentation,
    load_online_params,
    online_targets,
)
from seg_perception.vos.foreground_loss import masked_foreground_loss
from seg_perception.vos.foreground_net import upsample_probability
from seg_perception.vos.frame_buffer import FrameBuffer, VOSInitError
from seg_perception.vos.target_tracker import TargetTracker

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def test_online_targets_hand_case() -> None:
    last = np.zeros((20, 20), bool)
    last[5:10, 5:10] = True
    probability = np.full((20, 20), 0.5, np.float32)
    probability[4:11, 4:11] = 0.99  # a 7x7 confident block, eroded by 1 -> 5x5
    labels = online_targets(probability, last, 0.97, 1, 0.2)
    assert labels is not None
    assert (labels[5:10, 5:10] == 1).all() and (labels == 1).sum() == 25
    # 0.2 of the diagonal is 5.66 px: (0, 0) is 7.07 px from (5, 5), (5, 12) 3 px from (5, 9)
    assert labels[0, 0] == 0 and labels[19, 19] == 0
    assert labels[5, 12] == IGNORE_INDEX and labels[4, 4] == IGNORE_INDEX
    assert online_targets(probability, np.zeros_like(last), 0.97, 1, 0.2) is None
    assert online_targets(np.full((20, 20), 0.9, np.float32), last, 0.97, 1, 0.2) is None
    with pytest.raises(ValueError, match="shapes differ"):
        online_targets(probability[:10], last, 0.97, 1, 0.2)


def test_masked_foreground_loss_hand_case() -> None:
    logits = torch.zeros(1, 1, 2, 2)
    labels = torch.tensor([[[1, 0], [0, IGNORE_INDEX]]])
    # BCE of logit 0 is ln 2 on the 3 counted pixels; Dice: p = 0.5 on 3 counted pixels
    expected = math.log(2) + 1 - (2 * 0.5 + 1) / (1.5 + 1 + 1)
    assert masked_foreground_loss(logits, labels).item() == pytest.approx(expected, rel=1e-6)
    changed = logits.clone()
    changed[0, 0, 1, 1] = 9.0  # an ignored pixel changes nothing
    assert masked_foreground_loss(changed, labels).item() == pytest.approx(expected, rel=1e-6)


def test_online_params_validation_and_shipped_configs() -> None:
    with pytest.raises(ValueError, match="threshold"):
        OnlineParams(threshold=1.5)
    with pytest.raises(ValueError, match="negative_distance"):
        OnlineParams(negative_distance=0.0)
    osvos = load_online_params(REPO / "config" / "vos" / "osvos.yaml")
    onavos = load_online_params(REPO / "config" / "vos" / "onavos.yaml")
    assert not osvos.online and onavos.online
    assert onavos.finetune_steps == osvos.finetune_steps and osvos.input_size == (432, 240)
    parent = yaml.safe_load((REPO / "config" / "vos" / "parent_davis.yaml").read_text())
    motion = yaml.safe_load((REPO / "config" / "motion" / "two_stream_davis.yaml").read_text())
    assert parent["folds"] == motion["folds"]
    assert tuple(parent["input_size"]) == osvos.input_size


@pytest.fixture(scope="module")
def parent() -> torch.nn.Module:
    net, _ = foreground_net_from_segmentation(DEFAULT_CHECKPOINT)
    return net.eval()


def test_osvos_learns_the_first_mask_and_leaves_the_parent(parent: torch.nn.Module) -> None:
    before = {k: v.clone() for k, v in parent.state_dict().items()}
    params = OnlineParams(input_size=(128, 96), finetune_steps=40, finetune_lr=1e-3)
    segmenter = VideoObjectSegmenter(parent, params)
    progress: list[tuple[int, int]] = []
    rgb, mask = disk_scene(0)
    segmenter.init(rgb, mask, progress=lambda done, total: progress.append((done, total)))
    assert progress[-1] == (40, 40)
    later, truth = disk_scene(30)  # the object moved 30 px
    probability = segmenter.segment(later)
    assert probability.shape == (96, 128)
    assert region_j(upsample_probability(probability, truth.shape) > 0.5, truth) > 0.6
    for key, value in parent.state_dict().items():
        assert torch.equal(value, before[key]), key


def test_osvos_with_the_dense_crf(parent: torch.nn.Module) -> None:
    params = OnlineParams(input_size=(128, 96), finetune_steps=40, finetune_lr=1e-3, crf=True)
    segmenter = VideoObjectSegmenter(parent, params)
    rgb, mask = disk_scene(0)
    segmenter.init(rgb, mask)
    later, truth = disk_scene(30)
    probability = segmenter.segment(later)
    assert probability.shape == (96, 128) and 0.0 <= probability.min() <= probability.max() <= 1.0
    assert region_j(upsample_probability(probability, truth.shape) > 0.5, truth) > 0.6
    with pytest.raises(ValueError, match=r"invalid CRF kernel value\(s\): appearance_srgb"):
        OnlineParams(crf=True, crf_kernel={"appearance_srgb": 0.0})


def test_init_rejects_bad_targets(parent: torch.nn.Module) -> None:
    segmenter = VideoObjectSegmenter(parent, OnlineParams(input_size=(128, 96), finetune_steps=1))
    rgb, mask = disk_scene(0)
    with pytest.raises(ValueError, match="empty"):
        segmenter.init(rgb, np.zeros_like(mask))
    with pytest.raises(ValueError, match="does not match"):
        segmenter.init(rgb, mask[:50])
    with pytest.raises(ValueError, match="uint8 RGB"):
        segmenter.init(rgb.astype(np.float32), mask)
    with pytest.raises(RuntimeError, match="init"):
        segmenter.segment(rgb)


def test_onavos_adapts_and_stops_when_asked(parent: torch.nn.Module) -> None:
    params = OnlineParams(
        input_size=(128, 96), finetune_steps=40, finetune_lr=1e-3, online=True, adapt_steps=1
    )
    segmenter = VideoObjectSegmenter(parent, params)
    rgb, mask = disk_scene(0)
    segmenter.init(rgb, mask)
    for offset in (5, 10, 15):
        segmenter.segment(disk_scene(offset)[0])
    assert segmenter.adaptations == 3
    stopped = VideoObjectSegmenter(parent, params)
    steps: list[int] = []
    stopped.init(
        rgb, mask, progress=lambda done, _: steps.append(done), should_stop=lambda: len(steps) >= 3
    )
    assert steps == [1, 2, 3]


@pytest.fixture(scope="module")
def parents(davis_root: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two tiny parents: fold a = [blackswan], fold b = [camel]."""
    out = tmp_path_factory.mktemp("vos_parent")
    config = out / "parent.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "folds": {"a": ["blackswan"], "b": ["camel"]},
                "input_size": [96, 64],
                "crop_size": [48, 64],
                "epochs": 1,
                "batch_size": 2,
                "frame_limit": 4,
                "out_dir": str(out / "runs"),
            }
        )
    )
    for fold in "ab":
        args = ["train-vos-parent", "--config", str(config), "--fold", fold]
        assert main([*args, "--data-root", str(davis_root)]) == 0
    return [out / "runs" / f"fold_{fold}" / "final.pt" for fold in "ab"]


def test_parent_records_its_fold(parents: list[Path]) -> None:
    payload = load_checkpoint(parents[0])
    assert payload["class_names"] == ["object"] and payload["train_sequences"] == ["blackswan"]
    assert payload["input_size"] == [96, 64]
    log = (parents[0].parent / "log.csv").read_text().splitlines()
    assert log[0] == "epoch,loss,seconds" and len(log) == 2


@pytest.mark.parametrize("method", ["osvos", "onavos"])
def test_eval_vos_scores_each_sequence_with_the_other_parent(
    method: str, parents: list[Path], davis_root: Path, tmp_path: Path
) -> None:
    config = tmp_path / f"{method}.yaml"
    settings = {"input_size": [96, 64], "finetune_steps": 2, "online": method == "onavos"}
    config.write_text(yaml.safe_dump(settings))
    out = tmp_path / "out"
    args = ["eval-vos", "--method", method, "--config", str(config), "--out", str(out)]
    args += ["--checkpoint", str(parents[0]), "--checkpoint", str(parents[1])]
    args += ["--data-root", str(davis_root), "--sequences", "blackswan", "camel"]
    crf = ["--crf"] if method == "onavos" else []  # the config has none: off unless asked
    assert main([*args, *crf, "--frame-limit", "4", "--show", "2"]) == 0
    report = json.loads((out / "metrics.json").read_text())
    assert report["params"]["crf"] is (method == "onavos")
    parent_of = {row["sequence"]: row["parent"] for row in report["per_sequence"]}
    assert parent_of == {"blackswan": "final.pt (fold b)", "camel": "final.pt (fold a)"}
    assert report["frames"] == 2 * 3  # frames 1..3 of 4 (the 4th is not the sequence's last)
    assert 0 <= report["jf_mean"] <= 1 and report["method"] == method
    assert all(row["finetune_seconds"] > 0 for row in report["per_sequence"])
    assert (out / "frames.png").stat().st_size > 10_000


def test_eval_vos_one_line_errors(
    parents: list[Path], davis_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["eval-vos", "--method", "osvos", "--data-root", str(davis_root)]
    assert main([*base, "--checkpoint", str(parents[0]), "--sequences", "blackswan"]) == 2
    assert "every checkpoint was trained on blackswan" in capsys.readouterr().err
    assert main([*base, "--checkpoint", str(parents[0]), "--sequences", "camell"]) == 2
    err = capsys.readouterr().err.strip()
    assert "did you mean camel?" in err and len(err.splitlines()) == 1
    assert main([*base, "--checkpoint", str(DEFAULT_CHECKPOINT), "--sequences", "camel"]) == 2
    assert "not a VOS parent" in capsys.readouterr().err


def test_target_tracker_states(parent: torch.nn.Module) -> None:
    params = OnlineParams(input_size=(128, 96), finetune_steps=30, finetune_lr=1e-3)
    notes: list[str] = []
    tracker = TargetTracker(parent, params, log=notes.append)
    rgb, mask = disk_scene(0)
    frames: FrameBuffer[np.ndarray] = FrameBuffer(3)  # what the node keeps by stamp
    with pytest.raises(VOSInitError, match="no frame received yet"):
        frames.find((1, 0))
    for k in range(4):
        frames.add((1, k), rgb)
    assert tracker.track(rgb) is None and tracker.status()["vos_state"] == "idle"
    with pytest.raises(
        VOSInitError, match=r"the last 3 frames run from 1.000000001 to 1.000000003"
    ):
        frames.find((1, 0))  # pushed out of the buffer
    assert frames.find((1, 3)) is rgb
    for bad, reason in (
        (mask[:10], "the mask is 128x10"),
        (~mask & False, "empty"),
        (mask | True, "whole"),
    ):
        with pytest.raises(VOSInitError, match=reason):
            tracker.request_init((1, 3), bad, rgb)
        assert reason in tracker.status()["vos_last_error"]
    tracker.request_init((1, 3), mask, rgb)
    assert tracker.status()["vos_state"].startswith("fine-tuning")
    assert "vos_last_error" not in tracker.status()
    assert tracker.wait_idle(120.0)
    assert (
        tracker.status()["vos_state"] == "tracking" and "vos_finetune_seconds" in tracker.status()
    )
    later, truth = disk_scene(20)
    assert region_j(tracker.track(later), truth) > 0.6
    tracker.request_init((1, 3), mask, rgb)  # replaced at once: no mask until it is learnt again
    assert tracker.track(later) is None
    tracker.reset()
    assert tracker.wait_idle(120.0)
    assert tracker.track(later) is None and tracker.status()["vos_state"] == "idle"
    assert tracker.status()["vos_inits"] == "2" and any("tracking" in n for n in notes)


def test_an_init_burst_costs_one_fine_tuning(parent: torch.nn.Module) -> None:
    import threading

    params = OnlineParams(input_size=(128, 96), finetune_steps=30, finetune_lr=1e-3)
    tracker = TargetTracker(parent, params, log=lambda _: None)
    rgb, mask = disk_scene(0)
    earlier = set(threading.enumerate())  # other trackers' threads
    most = 0
    for k in range(20):
        tracker.request_init((1, k), mask, rgb)
        fine_tuning = [
            t for t in threading.enumerate() if t.name == "vos-fine-tune" and t not in earlier
        ]
        most = max(most, len(fine_tuning))
    assert most == 1
    assert tracker.wait_idle(120.0)
    status = tracker.status()
    assert status["vos_state"] == "tracking" and status["vos_inits"] == "20"
    assert status["vos_target_stamp"] == "1.000000019"  # the newest init won
