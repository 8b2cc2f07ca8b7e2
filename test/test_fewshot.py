"""Few-shot core (no ROS): NMAP, imprinting and adaptation against hand-computed
cases, the cosine classifier, proxies in a real model, episodes and base training
with ignored classes."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from seg_perception.classes import CAMVID, IGNORE_INDEX
from seg_perception.fewshot.adaptive_proxies import (
    AdaptiveProxies,
    classifier_features,
    segment_features,
)
from seg_perception.fewshot.episodes import draw_episode, support_pools
from seg_perception.fewshot.protocol import load_protocol
from seg_perception.fewshot.proxies import (
    adapt_proxy,
    cell_masks,
    masked_average,
    nmap,
    support_prototypes,
)
from seg_perception.models import build_model
from seg_perception.models.cosine_classifier import CosineClassifier
from seg_perception.package_files import config_file
from seg_perception.samples import load_camvid_sample
from seg_perception.training.config import TrainConfig

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def test_masked_average_of_unit_features() -> None:
    # pixel (0,0) = (3, 4) -> (0.6, 0.8); pixel (0,1) = (1, 0) -> (1, 0); weights 1 and 0.5
    features = torch.tensor([[[3.0, 1.0]], [[4.0, 0.0]]])  # (C=2, h=1, w=2)
    mask = torch.tensor([[1.0, 0.5]])
    expected = torch.tensor([(0.6 + 0.5) / 1.5, 0.8 / 1.5])
    torch.testing.assert_close(masked_average(features, mask), expected)
    assert masked_average(features, torch.zeros(1, 2)) is None


def test_nmap_normalises_the_mean_and_skips_absent_images() -> None:
    prototype = nmap([torch.tensor([1.0, 0.0]), None, torch.tensor([0.0, 1.0])])
    torch.testing.assert_close(prototype, torch.tensor([math.sqrt(0.5), math.sqrt(0.5)]))
    assert nmap([None, None]) is None


def test_adaptation_mixes_the_unit_row_with_the_prototype() -> None:
    # W = (2, 0) -> (1, 0); 0.25 * (0, 1) + 0.75 * (1, 0) = (0.75, 0.25), then normalised
    adapted = adapt_proxy(torch.tensor([2.0, 0.0]), torch.tensor([0.0, 1.0]), 0.25)
    norm = math.hypot(0.75, 0.25)
    torch.testing.assert_close(adapted, torch.tensor([0.75 / norm, 0.25 / norm]))
    torch.testing.assert_close(
        adapt_proxy(torch.tensor([2.0, 0.0]), adapted, 0.0), torch.eye(2)[0]
    )
    with pytest.raises(ValueError, match="alpha must be in"):
        adapt_proxy(torch.ones(2), torch.ones(2), 1.5)


def test_cell_masks_keep_the_share_of_thin_objects() -> None:
    labels = torch.zeros(4, 4, dtype=torch.int64)
    labels[:2, :2] = 3
    labels[:, 3] = 5  # a one-pixel-wide pole
    masks = cell_masks(labels, [3, 5], (2, 2))
    torch.testing.assert_close(masks[0], torch.tensor([[1.0, 0.0], [0.0, 0.0]]))
    torch.testing.assert_close(masks[1], torch.tensor([[0.0, 0.5], [0.0, 0.5]]))


def test_support_prototypes_per_class_and_resolution() -> None:
    """Class 1 is in image A only: its prototype is A's average (k counts A alone)."""
    a = {"low": torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]]])}  # pixel 0 = e0, pixel 1 = e1
    b = {"low": torch.tensor([[[0.0, 0.0]], [[1.0, 1.0]]])}  # e1 everywhere
    labels_a = torch.tensor([[1, 2]])
    labels_b = torch.tensor([[2, IGNORE_INDEX]])
    prototypes = support_prototypes([a, b], [labels_a, labels_b], [1, 2, 4])
    assert set(prototypes) == {1, 2}  # class 4 has no pixel
    torch.testing.assert_close(prototypes[1]["low"], torch.tensor([1.0, 0.0]))
    torch.testing.assert_close(prototypes[2]["low"], torch.tensor([0.0, 1.0]))


def test_cosine_classifier_scores_are_scaled_cosines() -> None:
    classifier = CosineClassifier(2, 2, scale=10.0)
    classifier.set_rows(torch.tensor([[1.0, 0.0], [1.0, 1.0]]))
    scores = classifier(torch.tensor([[[[3.0]], [[4.0]]]]))[0, :, 0, 0]
    torch.testing.assert_close(scores, torch.tensor([6.0, 10 * 7 / (5 * math.sqrt(2))]))
    with pytest.raises(ValueError, match=r"rows must be \(K, 2\)"):
        classifier.set_rows(torch.ones(3, 4))


@pytest.fixture(scope="module")
def cosine_model():
    torch.manual_seed(0)  # the head's random layers; margins hold for any seed tried
    return build_model(
        "lraspp",
        CAMVID.num_classes,
        encoder="efficientnet_lite0",
        dilated=False,
        classifier="cosine",
        pretrained=True,
    ).eval()


def test_cosine_lraspp_forward_is_classify_of_its_features(cosine_model) -> None:
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        out = cosine_model(x)["out"]
        logits = cosine_model.classify(cosine_model.classifier_features(x))
    upsampled = torch.nn.functional.interpolate(logits, size=(64, 96), mode="bilinear")
    torch.testing.assert_close(out, upsampled)


def test_imprinted_classes_segment_their_own_frame(cosine_model) -> None:
    """ImageNet features, one labelled frame, every class present imprinted from it:
    the frame is then segmented far above chance, cars included; reset restores."""
    _, rgb, truth = load_camvid_sample(1)[0]
    present = [c for c in range(CAMVID.num_classes) if (truth == c).any()]
    proxies = AdaptiveProxies(cosine_model)
    features = classifier_features(cosine_model, rgb, (480, 360))
    prototypes = support_prototypes([features], [torch.from_numpy(truth)], present)
    assert set(prototypes) == set(present)
    active = torch.zeros(CAMVID.num_classes, dtype=torch.bool)
    active[present] = True
    before = segment_features(cosine_model, features, active, truth.shape)
    for class_id, prototype in prototypes.items():
        proxies.imprint(class_id, prototype)
    after = segment_features(cosine_model, features, active, truth.shape)
    labelled = truth != IGNORE_INDEX
    car = truth == CAMVID.names.index("Car")
    assert (after[labelled] == truth[labelled]).mean() > 0.65  # 0.77-0.78 for seeds 0-3
    assert (after[car] == truth[car]).mean() > 0.8  # 1.0
    assert (after[labelled] == truth[labelled]).mean() > (
        before[labelled] == truth[labelled]
    ).mean()
    proxies.reset()
    np.testing.assert_array_equal(
        segment_features(cosine_model, features, active, truth.shape), before
    )


def test_proxies_add_and_remove_a_class(cosine_model) -> None:
    proxies = AdaptiveProxies(cosine_model)
    new = {"low": torch.ones(40), "high": torch.ones(128)}
    proxies.imprint(CAMVID.num_classes, new)
    assert proxies.num_classes == CAMVID.num_classes + 1
    with torch.no_grad():
        assert cosine_model(torch.randn(1, 3, 32, 32))["out"].shape[1] == CAMVID.num_classes + 1
    proxies.remove(CAMVID.num_classes)
    assert proxies.num_classes == CAMVID.num_classes
    with pytest.raises(ValueError, match="past the"):
        proxies.imprint(CAMVID.num_classes + 1, new)
    proxies.reset()


def test_a_linear_classifier_cannot_be_imprinted() -> None:
    model = build_model("lraspp", 3, encoder="mobilenet_v3_small", inter_channels=8)
    with pytest.raises(ValueError, match="cosine classifiers"):
        AdaptiveProxies(model)


def test_episodes_are_seeded_and_distinct() -> None:
    pools = {3: list(range(10)), 7: list(range(3))}
    first = draw_episode(pools, 5, (0, 1, 5, 2))
    assert first == draw_episode(pools, 5, (0, 1, 5, 2))
    assert first != draw_episode(pools, 5, (0, 1, 5, 3))
    assert len(set(first[3])) == 5 and sorted(first[7]) == [0, 1, 2]


def test_the_bundled_protocol_is_the_issue_s() -> None:
    protocol = load_protocol(config_file("fewshot/protocol.yaml"), CAMVID)
    assert protocol.folds == (
        ("Car", "Pedestrian", "SignSymbol"),
        ("Bicyclist", "Pole", "Tree"),
        ("Fence", "Pavement", "Building"),
    )
    assert protocol.shots == (1, 5) and protocol.episodes >= 20
    for fold in range(3):
        base = {CAMVID.names[i] for i in protocol.base_ids(fold, CAMVID)}
        assert {"Sky", "Road"} <= base and len(base) == 8


def test_base_training_ignores_the_novel_classes() -> None:
    from seg_perception.data import CamVid

    with pytest.raises(ValueError, match="not CamVid classes: Dog"):
        TrainConfig(ignore_classes=["Dog"])
    dataset = CamVid.__new__(CamVid)
    dataset.labels = [np.array([[0, 8, 9], [8, 255, 1]], np.uint8)]
    dataset.ignore_classes([8, 9])
    np.testing.assert_array_equal(dataset.labels[0], [[0, 255, 255], [255, 255, 1]])


def test_support_pools_hold_frames_where_the_class_is_big_enough() -> None:
    root = os.environ.get("SEG_PERCEPTION_DATA")
    if not root or not (Path(root) / "camvid" / "train.txt").is_file():
        pytest.skip("SEG_PERCEPTION_DATA holds no camvid/")
    from seg_perception.data import CamVidData
    from seg_perception.data.camvid import read_label

    sign = CAMVID.names.index("SignSymbol")
    pools = support_pools(CamVidData(root), ["val"], [sign], 0.005)
    assert 0 < len(pools[sign]) < 101
    for frame in pools[sign][:5]:
        assert (read_label(frame.label) == sign).mean() >= 0.005


def write_support(folder: Path, class_name: str, frames, mask_of) -> Path:
    import cv2

    (folder / class_name).mkdir(parents=True, exist_ok=True)
    for stem, rgb, label in frames:
        cv2.imwrite(str(folder / class_name / f"{stem}.png"), rgb[:, :, ::-1])
        cv2.imwrite(str(folder / class_name / f"{stem}_mask.png"), mask_of(label))
    return folder


def test_imprint_cli_appends_the_nmap_prototype(small_cosine_checkpoint, tmp_path) -> None:
    from seg_perception.checkpoint import load_checkpoint, load_model
    from seg_perception.cli import main as cli_main

    frames = load_camvid_sample(2)
    car = CAMVID.names.index("Car")
    support = write_support(
        tmp_path / "support", "Vehicle", frames, lambda y: (y == car).astype(np.uint8) * 255
    )
    out = tmp_path / "imprinted.pt"
    argv = ["imprint", "--checkpoint", str(small_cosine_checkpoint), "--support", str(support)]
    assert cli_main([*argv, "--remove", "Car", "--refine-steps", "0", "--out", str(out)]) == 0
    payload = load_checkpoint(out)
    names = [n for n in CAMVID.names if n != "Car"] + ["Vehicle"]
    assert payload["class_names"] == names
    assert len(payload["palette"]) == len(names)
    assert payload["palette"][-1] not in payload["palette"][:-1]
    imprinted, _ = load_model(out)
    original, _ = load_model(small_cosine_checkpoint)
    features = [classifier_features(original, rgb, (480, 360)) for _, rgb, _ in frames]
    masks = [torch.from_numpy(np.where(y == car, 99, IGNORE_INDEX)) for _, _, y in frames]
    expected = support_prototypes(features, masks, [99])[99]
    for name in ("low", "high"):
        rows = getattr(imprinted.head, f"{name}_classifier").weight.float()
        torch.testing.assert_close(rows[-1], expected[name], atol=2e-3, rtol=0)  # fp16 file
        kept = getattr(original.head, f"{name}_classifier").weight
        torch.testing.assert_close(
            rows[:-1], kept[[i for i in range(11) if i != car]], atol=2e-3, rtol=0
        )


@pytest.mark.parametrize(
    ("problem", "message"),
    [
        ("empty", "mask is empty"),
        ("full", "mask covers the whole frame"),
        ("size", "mask is 240x180, image 480x360"),
        ("missing", "no mask Seq05VD_f00000_mask.png beside it"),
        ("duplicate", "class 'Car' already exists"),
        ("bomb", "exceeds the pixel budget"),
        ("truncated", "truncated"),
    ],
)
def test_bad_support_is_one_line_and_writes_nothing(
    small_cosine_checkpoint, tmp_path, problem: str, message: str, capsys
) -> None:
    import cv2

    from seg_perception.cli import main as cli_main

    frames = load_camvid_sample(1)
    name = "Car" if problem == "duplicate" else "Cone"
    masks = {
        "empty": lambda y: np.zeros_like(y),
        "full": lambda y: np.full_like(y, 255),
        "size": lambda y: cv2.resize((y == 8).astype(np.uint8) * 255, (240, 180)),
    }
    support = write_support(
        tmp_path / "s", name, frames, masks.get(problem, lambda y: (y == 8).astype(np.uint8))
    )
    if problem == "missing":
        (support / name / f"{frames[0][0]}_mask.png").unlink()
    if problem == "bomb":  # 10000x10000 zeros: a few KB on disk, 100 MB decoded
        from PIL import Image

        Image.new("L", (10_000, 10_000)).save(support / name / f"{frames[0][0]}_mask.png")
    if problem == "truncated":  # the image as a JPEG cut after 60 % of its bytes
        image = support / name / f"{frames[0][0]}.png"
        jpeg = cv2.imencode(".jpg", cv2.imread(str(image)))[1].tobytes()
        image.unlink()
        image.with_suffix(".jpg").write_bytes(jpeg[: len(jpeg) * 6 // 10])
    out = tmp_path / "out.pt"
    argv = ["imprint", "--checkpoint", str(small_cosine_checkpoint), "--support", str(support)]
    assert cli_main([*argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not out.exists()


def make_teacher(checkpoint: Path, tmp_path: Path, state: Path, warn=None):
    """A ``ClassTeacher`` of ``checkpoint`` over ``tmp_path/support``, saved to ``state``."""
    from seg_perception.checkpoint import load_model
    from seg_perception.fewshot.class_teacher import ClassTeacher

    model, _ = load_model(checkpoint)
    return ClassTeacher(
        checkpoint,
        model,
        CAMVID,
        tmp_path / "support",
        state,
        (480, 360),
        log=lambda _: None,
        warn=warn,
    )


def test_teacher_syncs_with_the_folder_and_restores_after_a_restart(
    small_cosine_checkpoint, tmp_path
) -> None:
    from seg_perception.fewshot.imprint import SupportError

    def teacher():
        return make_teacher(small_cosine_checkpoint, tmp_path, tmp_path / "state" / "taught.pt")

    frames = load_camvid_sample(2)
    support = tmp_path / "support"
    write_support(support, "Van", frames, lambda y: (y == 8).astype(np.uint8) * 255)
    write_support(support, "Facade", frames, lambda y: (y == 1).astype(np.uint8) * 255)
    first = teacher()
    result = first.sync()
    assert result.added == ("Facade", "Van") and result.removed == ()
    assert result.classes.names[-2:] == ("Facade", "Van") and first.taught == ("Facade", "Van")
    assert first.sync().summary() == "classes unchanged"

    restarted = teacher()
    assert restarted.restore() and restarted.taught == ("Facade", "Van")
    for name in ("low", "high"):
        saved = getattr(restarted.model.head, f"{name}_classifier").weight
        torch.testing.assert_close(saved, getattr(result.model.head, f"{name}_classifier").weight)

    import shutil

    shutil.rmtree(support / "Van")
    write_support(support, "Sky", frames[:1], lambda y: (y == 0).astype(np.uint8) * 255)
    before = restarted.classes
    with pytest.raises(SupportError, match="class 'Sky' already exists"):
        restarted.sync()
    assert restarted.classes == before  # a refused sync changes nothing
    shutil.rmtree(support / "Sky")
    forgot = restarted.sync()
    assert forgot.removed == ("Van",) and forgot.classes.names[-1] == "Facade"
    assert forgot.model.head.low_classifier.weight.shape[0] == CAMVID.num_classes + 1


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        ("palette_short", "12 class names but 11 palette colours"),
        ("garbage", "unreadable"),
        ("other_base", "taught on another base checkpoint"),
        ("names_not_strings", "class_names is not a non-empty list of names"),
    ],
)
def test_a_bad_state_file_is_one_warning_naming_it(
    small_cosine_checkpoint, tmp_path, damage: str, reason: str
) -> None:
    from seg_perception.checkpoint import load_checkpoint, save_checkpoint

    warnings: list[str] = []

    def teacher():
        return make_teacher(
            small_cosine_checkpoint, tmp_path, tmp_path / "taught.pt", warn=warnings.append
        )

    write_support(
        tmp_path / "support", "Van", load_camvid_sample(1), lambda y: (y == 8).astype(np.uint8)
    )
    teacher().sync()
    state = tmp_path / "taught.pt"
    payload = load_checkpoint(state)
    if damage == "palette_short":
        payload["palette"] = payload["palette"][:-1]
    elif damage == "other_base":
        payload["fewshot_base_sha256"] = "0" * 64
    elif damage == "names_not_strings":
        payload["class_names"] = [1, 2, 3]
    save_checkpoint(state, payload)
    if damage == "garbage":
        state.write_bytes(b"not a checkpoint")
    restarted = teacher()
    assert not restarted.restore()
    assert restarted.classes == CAMVID and restarted.taught == ()
    assert len(warnings) == 1 and str(state) in warnings[0] and reason in warnings[0], warnings
    assert "NOT restored" in warnings[0]
