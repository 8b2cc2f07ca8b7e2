"""Refinement of imprinted proxies (no ROS): a hand-made case where an imprinted row
steals base pixels and refinement gives them back, the base rows untouched; the
imprint CLI's ``--refine-steps``; ``fewshot-eval`` end to end on real CamVid frames."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from small_models import save_small_lraspp

from seg_perception.classes import CAMVID, IGNORE_INDEX
from seg_perception.fewshot.adaptive_proxies import AdaptiveProxies
from seg_perception.fewshot.cancellation import TeachingCancelled
from seg_perception.fewshot.proxy_refinement import cell_targets, refine_proxies
from seg_perception.models.cosine_classifier import CosineClassifier
from seg_perception.samples import load_camvid_sample

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def _unit(*values: float) -> torch.Tensor:
    return F.normalize(torch.tensor(values, dtype=torch.float32), dim=0)


@pytest.fixture
def three_class_scene():
    """Cells of a (4, 4, 8) feature map: base class 0 on the left half (along e0),
    base class 1 on the bottom right (e1), a new class 2 on the top right
    (along e0 + e2). Base row 0 is a trained direction far from its pixels' mean
    (cosine 0.45, as measured for CamVid's base models), so the new class's
    imprinted prototype (cosine 0.71 to base-0 pixels) wins them."""
    torch.manual_seed(0)
    features = torch.zeros(4, 4, 8)
    features[:, :, :4] = _unit(1, 0, 0, 0)[:, None, None]
    features[:, 2:, 4:] = _unit(0, 1, 0, 0)[:, None, None]
    features[:, :2, 4:] = _unit(1, 0, 1, 0)[:, None, None]
    features = features + 0.02 * torch.randn_like(features)
    labels = torch.zeros(8, 16, dtype=torch.int64)  # two pixels per cell each way
    labels[4:, 8:] = 1
    labels[:4, 8:] = 2
    labels[0, 0] = IGNORE_INDEX
    classifiers = {}
    for name in ("low", "high"):
        classifier = CosineClassifier(4, 3)
        classifier.set_rows(torch.stack([_unit(1, 0, 0, 2), _unit(0, 1, 0, 0), _unit(0, 0, 0, 1)]))
        classifiers[f"{name}_classifier"] = classifier
    model = SimpleNamespace(head=SimpleNamespace(**classifiers))
    return model, {"low": features, "high": features}, labels


def _cell_labels(proxies: AdaptiveProxies, features: dict) -> torch.Tensor:
    with torch.no_grad():
        logits = sum(proxies.classifiers[n](features[n][None]) for n in ("low", "high"))
    return logits[0].argmax(dim=0)


def test_cell_targets_are_each_class_s_share_of_the_cell() -> None:
    labels = torch.tensor([[0, 1, 2, 2], [IGNORE_INDEX, 1, 2, 2]])
    targets = cell_targets(labels, 3, (1, 2))
    torch.testing.assert_close(targets[:, 0, 0], torch.tensor([0.25, 0.5, 0.0]))
    torch.testing.assert_close(targets[:, 0, 1], torch.tensor([0.0, 0.0, 1.0]))


def test_refinement_gives_base_pixels_back_and_keeps_base_rows(three_class_scene) -> None:
    model, features, labels = three_class_scene
    proxies = AdaptiveProxies(model)
    prototype = _unit(1, 0, 1, 0)
    proxies.imprint(2, {"low": prototype, "high": prototype})
    base_rows = {n: c.weight.detach()[:2].clone() for n, c in proxies.classifiers.items()}
    truth = torch.zeros(4, 8, dtype=torch.int64)
    truth[2:, 4:], truth[:2, 4:] = 1, 2
    imprinted = _cell_labels(proxies, features)
    assert (imprinted[:, :4] == 2).all()  # the imprinted row steals every base-0 cell

    losses = refine_proxies(proxies, [features], [labels], [2], steps=150, lr=0.05)

    assert len(losses) == 150 and losses[-1] < 0.5 * losses[0]
    assert torch.equal(_cell_labels(proxies, features), truth)
    for name, classifier in proxies.classifiers.items():
        assert torch.equal(classifier.weight.detach()[:2], base_rows[name])
        torch.testing.assert_close(classifier.weight.detach()[2].norm(), torch.tensor(1.0))


def test_a_cancelled_refinement_stops_at_once(three_class_scene) -> None:
    model, features, labels = three_class_scene
    proxies = AdaptiveProxies(model)
    before = {n: c.weight.detach().clone() for n, c in proxies.classifiers.items()}
    asked = []

    def cancelled() -> bool:
        asked.append(True)
        return len(asked) > 3

    with pytest.raises(TeachingCancelled):
        refine_proxies(proxies, [features], [labels], [2], steps=1000, cancelled=cancelled)
    assert len(asked) == 4  # asked before each step; stopped at the fourth
    for name, classifier in proxies.classifiers.items():  # the rows are set only at the end
        assert torch.equal(classifier.weight.detach(), before[name])


def test_zero_steps_change_nothing_and_bad_settings_are_refused(three_class_scene) -> None:
    model, features, labels = three_class_scene
    proxies = AdaptiveProxies(model)
    before = {n: c.weight.detach().clone() for n, c in proxies.classifiers.items()}
    assert refine_proxies(proxies, [features], [labels], [2], steps=0) == []
    for name, classifier in proxies.classifiers.items():
        assert torch.equal(classifier.weight.detach(), before[name])
    with pytest.raises(ValueError, match="steps must be >= 0, lr > 0 and partial in"):
        refine_proxies(proxies, [features], [labels], [2], steps=10, lr=0.0)


def test_imprint_cli_refines_only_the_new_row(small_cosine_checkpoint, tmp_path) -> None:
    import cv2

    from seg_perception.checkpoint import load_model
    from seg_perception.cli import main as cli_main

    checkpoint = small_cosine_checkpoint
    car = CAMVID.names.index("Car")
    (tmp_path / "support" / "Vehicle").mkdir(parents=True)
    for stem, rgb, label in load_camvid_sample(2):
        cv2.imwrite(str(tmp_path / "support" / "Vehicle" / f"{stem}.png"), rgb[:, :, ::-1])
        mask = (label == car).astype(np.uint8) * 255
        cv2.imwrite(str(tmp_path / "support" / "Vehicle" / f"{stem}_mask.png"), mask)
    outputs = {}
    for steps in (0, 40):
        out = tmp_path / f"refined_{steps}.pt"
        argv = ["imprint", "--checkpoint", str(checkpoint), "--support", str(tmp_path / "support")]
        assert cli_main([*argv, "--refine-steps", str(steps), "--out", str(out)]) == 0
        outputs[steps], _ = load_model(out)
    for name in ("low", "high"):
        imprinted = getattr(outputs[0].head, f"{name}_classifier").weight.float()
        refined = getattr(outputs[40].head, f"{name}_classifier").weight.float()
        torch.testing.assert_close(refined[:-1], imprinted[:-1])  # base rows: the same
        assert F.cosine_similarity(refined[-1], imprinted[-1], dim=0) < 0.999


def _camvid_root() -> Path:
    root = os.environ.get("SEG_PERCEPTION_DATA", "")
    if not root or not (Path(root) / "camvid" / "train.txt").is_file():
        pytest.skip("SEG_PERCEPTION_DATA holds no camvid/")
    return Path(root)


def test_fewshot_eval_scores_every_adaptation(small_cosine_checkpoint, tmp_path) -> None:
    """The protocol on 4 real query frames with small untrained models: every
    (alpha, refine steps) pair is scored, the reported one too, picture written."""
    from seg_perception.cli import main as cli_main

    root = _camvid_root()
    paths = {"base": small_cosine_checkpoint, "full": save_small_lraspp(tmp_path / "full.pt")}
    protocol = tmp_path / "protocol.yaml"
    protocol.write_text(
        "folds: [[Car, Pedestrian, SignSymbol], [Bicyclist, Pole, Tree]]\n"
        f"base_checkpoints: ['{paths['base']}', '{paths['base']}']\n"
        f"fully_supervised_checkpoint: '{paths['full']}'\n"
        "support_splits: [train, val]\nmin_class_fraction: 0.005\nshots: [1]\n"
        "episodes: 2\nseed: 0\nadaptations: [[0.0, 0], [0.0, 20]]\nrefine_partial: 0.5\n"
        "alpha: 0.5\nrefine_steps: 20\nrefine_lr: 0.003\ninput_size: [240, 180]\n"
    )
    out = tmp_path / "out"
    argv = ["fewshot-eval", "--protocol", str(protocol), "--fold", "0", "--limit", "4"]
    assert cli_main([*argv, "--data-root", str(root), "--out", str(out)]) == 0
    report = json.loads((out / "fewshot.json").read_text())
    keys = {"alpha 0, refine 0", "alpha 0, refine 20", "alpha 0.5, refine 20"}
    per_adaptation = report["folds"]["0"]["shots"]["1"]["per_adaptation"]
    assert set(per_adaptation) == keys
    assert report["summary"]["1"]["reported"] == "alpha 0.5, refine 20"
    assert set(report["summary"]["1"]["per_adaptation"]) == keys
    assert len(report["folds"]["0"]["shots"]["1"]["episodes"]) == 2
    assert (out / "fold0_1shot.png").stat().st_size > 10_000


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["fewshot-eval", "--adaptations", "0.5:x"], "--adaptations: not alpha:steps pairs"),
        (["fewshot-eval", "--adaptations", "1.5:0"], "--adaptations: needs alpha in [0, 1]"),
        (["fewshot-eval", "--adaptations", "0:-3"], "and steps >= 0, got '0:-3'"),
        (
            ["imprint", "--checkpoint", "c.pt", "--out", "o.pt", "--refine-steps", "-1"],
            "--refine-steps: must be 0 or more",
        ),
    ],
)
def test_cli_mistakes_are_one_line(argv, message, capsys: pytest.CaptureFixture) -> None:
    from seg_perception.cli import main as cli_main

    assert cli_main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


def test_partial_labels_let_an_unmarked_new_class_keep_its_pixels() -> None:
    """Two new classes, one support frame each. Frame A marks class 2; class 3 also
    appears in it, unmarked, and the base model calls it class 0. With partial labels
    (weight 1) class 3 keeps those cells by a wide margin; plain cross-entropy (0) pulls
    them towards class 0 (the same look is labelled 3 in frame B, so 3 still wins)."""
    torch.manual_seed(0)
    e = torch.eye(4)
    frame_a = torch.zeros(4, 2, 6)
    frame_a[:, :, :2] = e[0][:, None, None]
    frame_a[:, :, 2:4] = e[2][:, None, None]
    frame_a[:, :, 4:] = e[3][:, None, None]
    frame_b = torch.zeros(4, 2, 6)
    frame_b[:, :, :3] = e[0][:, None, None]
    frame_b[:, :, 3:] = e[3][:, None, None]
    labels_a = torch.zeros(2, 6, dtype=torch.int64)
    labels_a[:, 2:4] = 2  # class 3's cells (4:) carry the base model's label 0
    labels_b = torch.zeros(2, 6, dtype=torch.int64)
    labels_b[:, 3:] = 3
    margins = {}
    for partial in (0.0, 1.0):
        classifiers = {}
        for name in ("low", "high"):
            classifier = CosineClassifier(4, 4)
            classifier.set_rows(torch.stack([e[0], e[1], e[2], e[3]]))
            classifiers[f"{name}_classifier"] = classifier
        proxies = AdaptiveProxies(SimpleNamespace(head=SimpleNamespace(**classifiers)))
        features = [{"low": f, "high": f} for f in (frame_a, frame_b)]
        refine_proxies(
            proxies, features, [labels_a, labels_b], [2, 3], steps=200, lr=0.05, partial=partial
        )
        with torch.no_grad():
            logits = sum(proxies.classifiers[n](frame_a[None]) for n in ("low", "high"))[0]
        margins[partial] = float((logits[3] - logits[0])[:, 4:].mean())
    assert margins[1.0] > 10.0  # 18.7
    assert margins[0.0] < 0.5 * margins[1.0]  # 1.9
