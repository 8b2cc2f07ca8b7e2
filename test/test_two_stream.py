"""Two-stream model: shapes, the single-stream variant, CamVid weights, a training step."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from seg_perception.checkpoint import load_model, save_checkpoint
from seg_perception.classes import CAMVID
from seg_perception.models import TWO_STREAM, build_model

pytestmark = pytest.mark.usefixtures("torch_one_thread")
SMALL = {"inter_channels": 16}


def test_outputs_and_fusion_width() -> None:
    model = build_model(TWO_STREAM, 11, **SMALL).eval()
    with torch.inference_mode():
        out = model(torch.randn(2, 3, 64, 96), torch.randn(2, 2, 64, 96))
    assert out["out"].shape == (2, 11, 64, 96)
    assert out["foreground"].shape == (2, 1, 64, 96)
    # the foreground head reads appearance (960) + motion (576) stride-16 channels
    assert model.foreground_head.cbr[0].in_channels == 960 + 576
    assert model.semantic_head.cbr[0].in_channels == 960


def test_single_stream_has_no_motion_and_ignores_nothing() -> None:
    model = build_model(TWO_STREAM, 11, use_flow=False, **SMALL).eval()
    assert model.motion is None
    assert not any(name.startswith("motion.") for name in model.state_dict())
    with torch.inference_mode():
        out = model(torch.randn(1, 3, 64, 96))
    assert out["foreground"].shape == (1, 1, 64, 96)


def test_two_stream_needs_flow() -> None:
    model = build_model(TWO_STREAM, 11, **SMALL).eval()
    with pytest.raises(ValueError, match="needs flow"):
        model(torch.randn(1, 3, 64, 96))
    with pytest.raises(ValueError, match="appearance_encoder"):
        build_model(TWO_STREAM, 11, encoder="resnet18")


def test_semantic_output_is_the_segmentation_model_and_flow_free() -> None:
    torch.manual_seed(0)
    segmentation = build_model("lraspp", 11, **SMALL).eval()
    two_stream = build_model(TWO_STREAM, 11, **SMALL).eval()
    two_stream.load_appearance_from(segmentation.state_dict())
    image = torch.randn(1, 3, 64, 96)
    with torch.inference_mode():
        expected = segmentation(image)["out"]
        a = two_stream(image, torch.zeros(1, 2, 64, 96))
        b = two_stream(image, torch.randn(1, 2, 64, 96))
    torch.testing.assert_close(a["out"], expected)
    torch.testing.assert_close(b["out"], expected)  # flow never changes the labels
    # but it moves the mask (batch statistics: a fresh net in eval mode damps its input
    # to ~1e-8 by stride 16)
    with torch.no_grad():
        two_stream.train()
        images, flows = image.repeat(2, 1, 1, 1), torch.randn(2, 2, 64, 96)
        foreground = two_stream(images, flows)["foreground"]
        foreground_still = two_stream(images, torch.zeros_like(flows))["foreground"]
    assert (foreground - foreground_still).abs().max() > 1e-3
    with pytest.raises(ValueError, match="lack"):
        two_stream.load_appearance_from({"head.cbr.0.weight": torch.zeros(1)})
    wider = build_model("lraspp", 11, inter_channels=32).state_dict()
    with pytest.raises(ValueError, match="do not fit"):
        two_stream.load_appearance_from(wider)


def test_training_step_updates_motion_stream() -> None:
    model = build_model(TWO_STREAM, 11, **SMALL).train()
    before = [p.detach().clone() for p in model.motion.parameters()]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    out = model(torch.randn(2, 3, 64, 96), torch.randn(2, 2, 64, 96))
    target = (torch.rand(2, 1, 64, 96) > 0.5).float()
    torch.nn.functional.binary_cross_entropy_with_logits(out["foreground"], target).backward()
    optimizer.step()
    assert any(
        not torch.equal(a, b) for a, b in zip(before, model.motion.parameters(), strict=True)
    )


def test_checkpoint_round_trip(tmp_path: Path) -> None:
    model = build_model(TWO_STREAM, 11, use_flow=False, **SMALL).eval()
    path = tmp_path / "two_stream.pt"
    payload = {
        "model_name": TWO_STREAM,
        "model_kwargs": {"use_flow": False, **SMALL},
        "class_names": list(CAMVID.names),
        "state_dict": model.state_dict(),
    }
    save_checkpoint(path, payload)
    loaded, _ = load_model(path, expected_classes=CAMVID)
    image = torch.randn(1, 3, 64, 96)
    with torch.inference_mode():
        torch.testing.assert_close(loaded(image)["foreground"], model(image)["foreground"])
