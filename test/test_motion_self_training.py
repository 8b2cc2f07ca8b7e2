"""Self-training on the motion masks: pseudo-labels, ``VideoObjectSegmenter.fit``, the
per-sequence fusion and ``eval-motion --self-train``.

The DAVIS tests read ``$SEG_PERCEPTION_DATA`` (skipped when unset).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from vos_scenes import disk_scene

from seg_perception.checkpoint import (
    DEFAULT_CHECKPOINT,
    MOTION_CHECKPOINTS,
    VOS_PARENT_CHECKPOINTS,
)
from seg_perception.classes import IGNORE_INDEX
from seg_perception.cli import main
from seg_perception.evaluation.motion_eval import score_sequence
from seg_perception.evaluation.motion_self_training import (
    SelfTrainingParams,
    score_self_trained_sequence,
)
from seg_perception.evaluation.vos_metrics import region_j
from seg_perception.latency_stats import LatencyStats
from seg_perception.motion.motion_pipeline import MotionPipeline
from seg_perception.refine.dense_crf import CRFParams, DenseCRF
from seg_perception.vos import OnlineParams, VideoObjectSegmenter, foreground_net_from_segmentation
from seg_perception.vos.foreground_net import load_vos_parent, upsample_probability
from seg_perception.vos.pseudo_labels import pseudo_labels

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def _disk(size: tuple[int, int] = (40, 60), radius: float = 10.0) -> np.ndarray:
    """Object probability: 0.95 inside a disk at (20, 30), 0.05 outside, 0.6 on a ring
    just outside it (confident nowhere there)."""
    yy, xx = np.mgrid[: size[0], : size[1]]
    distance = np.hypot(yy - 20, xx - 30)
    probability = np.where(distance < radius, 0.95, 0.05).astype(np.float32)
    probability[(distance >= radius) & (distance < radius + 2)] = 0.6
    return probability


def test_pseudo_labels_keep_confident_pixels_away_from_the_edge() -> None:
    probability = _disk()
    labels = pseudo_labels(probability, 0.9, 0.1, margin=3)
    assert labels is not None and labels.dtype == np.uint8
    # row 20: the mask (p > 0.5) spans x = 19..41, its 0.6 ring x = 19, 20, 40, 41
    assert (labels[20, 22:39] == 1).all()  # confident, more than 3 px inside
    assert labels[20, 21] == IGNORE_INDEX  # confident, but 3 px inside: within the margin
    assert labels[20, 19] == IGNORE_INDEX and labels[20, 41] == IGNORE_INDEX  # not confident
    assert labels[20, 44] == IGNORE_INDEX  # 3 px outside the mask: within the margin
    assert labels[20, 45] == 0 and labels[20, 15] == 0 and labels[0, 0] == 0
    assert set(np.unique(labels)) == {0, 1, IGNORE_INDEX}
    # a wider margin labels fewer pixels, none differently
    wide = pseudo_labels(probability, 0.9, 0.1, margin=6)
    assert wide is not None
    assert ((wide != IGNORE_INDEX) <= (labels != IGNORE_INDEX)).all()
    assert (wide[wide != IGNORE_INDEX] == labels[wide != IGNORE_INDEX]).all()
    assert (wide != IGNORE_INDEX).sum() < (labels != IGNORE_INDEX).sum()
    # the thresholds: unsure pixels away from the edge stay unlabelled on both sides
    unsure = probability.copy()
    unsure[0:3, :] = 0.3  # outside the mask, far from it, but not below 0.1
    unsure[18:23, 28:33] = 0.6  # inside, far from the edge, but not above 0.9
    unsure_labels = pseudo_labels(unsure, 0.9, 0.1, margin=3)
    assert (unsure_labels[0:3] == IGNORE_INDEX).all() and (unsure_labels[3:5] == 0).all()
    assert (unsure_labels[18:23, 28:33] == IGNORE_INDEX).all() and unsure_labels[20, 25] == 1
    # nothing confident enough, or no object at all: no labels
    assert pseudo_labels(np.full((40, 60), 0.7, np.float32), 0.9, 0.1, 3) is None
    assert pseudo_labels(np.full((40, 60), 0.05, np.float32), 0.9, 0.1, 3) is None
    assert pseudo_labels(_disk(radius=2.5), 0.9, 0.1, 6) is None  # all within the margin
    with pytest.raises(ValueError, match="thresholds"):
        pseudo_labels(probability, 0.4, 0.1, 3)


def test_self_training_params_validation() -> None:
    assert SelfTrainingParams().as_dict()["every"] == 3
    for bad in ({"every": 0}, {"positive_threshold": 0.3}, {"margin": -1}, {"parent_weight": 2}):
        with pytest.raises(ValueError, match="invalid self-training"):
            SelfTrainingParams(**bad)


@pytest.fixture(scope="module")
def parent() -> torch.nn.Module:
    net, _ = foreground_net_from_segmentation(DEFAULT_CHECKPOINT)
    return net.eval()


def test_fit_learns_from_partly_labelled_frames(parent: torch.nn.Module) -> None:
    params = OnlineParams(input_size=(128, 96), finetune_steps=40, finetune_lr=1e-3)
    examples = []
    for offset in (0, 10, 20):
        rgb, mask = disk_scene(offset)
        labels = pseudo_labels(np.where(mask, 0.95, 0.05).astype(np.float32), 0.9, 0.1, 3)
        examples.append((rgb, labels))
    segmenter = VideoObjectSegmenter(parent, params)
    progress: list[tuple[int, int]] = []
    assert segmenter.fit(examples, lambda done, total: progress.append((done, total))) > 0
    assert progress[-1] == (40, 40)
    later, truth = disk_scene(45)  # a position no example shows
    probability = segmenter.segment(later)
    assert region_j(upsample_probability(probability, truth.shape) > 0.5, truth) > 0.6
    # online adaptation after fit: from the second frame, once there is a previous mask
    online = OnlineParams(
        input_size=(128, 96),
        finetune_steps=40,
        finetune_lr=1e-3,
        online=True,
        adapt_every=1,
        adapt_steps=1,
        positive_threshold=0.6,
        erosion=1,
    )
    adapting = VideoObjectSegmenter(parent, online)
    adapting.fit(examples)
    adapting.segment(later)
    assert adapting.adaptations == 0
    adapting.segment(later)
    assert adapting.adaptations == 1
    with pytest.raises(ValueError, match="must be uint8"):
        segmenter.fit([(later.astype(np.float32), examples[0][1])])
    with pytest.raises(ValueError, match="examples must be frames and labels at"):
        segmenter.fit([(later[:50], examples[0][1])])
    with pytest.raises(ValueError, match="no example labels"):
        segmenter.fit([(later, np.full((96, 128), IGNORE_INDEX, np.uint8))])


def _bundled_pipeline(crf=None) -> MotionPipeline:
    """The bundled two-stream model trained on fold a (which holds camel out)."""
    from seg_perception.motion.motion_pipeline import load_motion_model

    model, payload = load_motion_model(MOTION_CHECKPOINTS["two_stream"][0])
    assert "camel" not in payload["train_sequences"]
    return MotionPipeline.from_loaded(model, payload, device="cpu", crf=crf)


def _on_camel(
    pipeline: MotionPipeline,
    params: SelfTrainingParams,
    davis_root: Path,
    latency: LatencyStats | None = None,
) -> tuple[float, float, int, float]:
    """Camel's first 6 frames self-trained with fold a's parent (1 fine-tuning step)."""
    parent, payload = load_vos_parent(VOS_PARENT_CHECKPOINTS[0])
    assert "camel" not in payload["train_sequences"]
    tuning = OnlineParams(finetune_steps=1)
    latency = latency or LatencyStats()
    return score_self_trained_sequence(
        pipeline, parent, tuning, params, None, davis_root, "camel", latency, frame_limit=6
    )


def test_parent_weight_zero_without_crf_is_eval_motion(davis_root: Path) -> None:
    """The fusion's plumbing: with the parent's weight at 0 and no CRF, every mask is the
    motion pipeline's own, so the scores are ``eval-motion``'s (up to the few full-size
    pixels that clipping the logits at 1e-6 probability can move)."""
    pipeline = _bundled_pipeline()
    plain = score_sequence(pipeline, davis_root, "camel", LatencyStats(), frame_limit=6)
    latency = LatencyStats()
    j, f, frames, seconds = _on_camel(
        pipeline, SelfTrainingParams(parent_weight=0.0, every=2), davis_root, latency
    )
    assert frames == plain[2] and seconds > 0
    assert (j, f) == pytest.approx(plain[:2], abs=2e-3)
    assert {"inference", "pseudo_labels", "parent"} <= set(latency.summary())
    parent_only = _on_camel(pipeline, SelfTrainingParams(every=2, parent_weight=1.0), davis_root)
    assert abs(parent_only[0] - plain[0]) > 0.01, parent_only  # the parent alone: other masks
    with pytest.raises(ValueError, match="without a CRF"):
        _on_camel(_bundled_pipeline(DenseCRF(CRFParams())), SelfTrainingParams(), davis_root)


def test_eval_motion_self_train_records_its_settings(davis_root: Path, tmp_path: Path) -> None:
    args = ["eval-motion", "--data-root", str(davis_root), "--out", str(tmp_path)]
    args += ["--self-train", "--crf", "--crf-iterations", "2", "--finetune-steps", "2"]
    args += ["--sequences", "camel", "blackswan", "--frame-limit", "5"]
    for path in MOTION_CHECKPOINTS["two_stream"]:
        args += ["--checkpoint", str(path)]
    assert main(args) == 0
    report = json.loads((tmp_path / "metrics.json").read_text())
    assert list(report["models"]) == ["custom + self-training + CRF"]
    summary = report["models"]["custom + self-training + CRF"]
    settings = report["self_training"]
    assert settings["every"] == SelfTrainingParams().every
    assert settings["tuning"]["finetune_steps"] == 2 and settings["tuning"]["crf"] is False
    assert "input_size" not in settings["tuning"]  # the motion checkpoint's is used
    assert [Path(p).name for p in settings["vos_parents"]] == [
        p.name for p in VOS_PARENT_CHECKPOINTS
    ]
    rows = {row["sequence"]: row for row in summary["per_sequence"]}
    assert rows["camel"]["checkpoint"] == MOTION_CHECKPOINTS["two_stream"][0].name
    assert rows["blackswan"]["checkpoint"] == MOTION_CHECKPOINTS["two_stream"][1].name
    assert all(row["finetune_seconds"] > 0 for row in rows.values())
    assert summary["finetune_seconds_mean"] > 0 and summary["frames"] == 2 * 4
    assert {"pseudo_labels", "parent", "fused_crf"} <= set(summary["latency_ms"])


def test_eval_motion_self_train_options_need_self_train(
    davis_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    args = ["eval-motion", "--data-root", str(davis_root), "--out", str(tmp_path)]
    assert main([*args, "--finetune-steps", "3"]) == 2
    assert "need --self-train" in capsys.readouterr().err
    assert not (tmp_path / "metrics.json").exists()


def test_eval_motion_self_train_refuses_a_parent_that_saw_the_sequence(
    davis_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    args = ["eval-motion", "--data-root", str(davis_root), "--out", str(tmp_path)]
    args += ["--self-train", "--sequences", "camel", "--frame-limit", "4"]
    args += ["--vos-parent", str(VOS_PARENT_CHECKPOINTS[1])]  # fold b: trained on camel
    for path in MOTION_CHECKPOINTS["two_stream"]:
        args += ["--checkpoint", str(path)]
    assert main(args) == 2
    assert "every checkpoint was trained on camel" in capsys.readouterr().err
