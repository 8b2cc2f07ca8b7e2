"""Model zoo: every builder on a tiny input, FCN's bilinear init, one training step and a
checkpoint round trip each."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from seg_perception.checkpoint import load_model, save_checkpoint
from seg_perception.classes import CAMVID
from seg_perception.models import DEFAULT_ENCODERS, MODEL_NAMES, build_model
from seg_perception.models.common import bilinear_kernel
from seg_perception.models.encoders import build_encoder

NUM_CLASSES = 11
# Not divisible by 32 (or 16, or 8): every model must crop or resize back to the input size.
HEIGHT, WIDTH = 72, 100


pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(autouse=True)
def seeded() -> None:
    torch.manual_seed(0)


def test_registry() -> None:
    assert set(MODEL_NAMES) == {"fcn8s", "unet", "deeplabv3plus", "lraspp"}
    assert set(DEFAULT_ENCODERS) == set(MODEL_NAMES)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_output_shape_in_eval_mode(name: str) -> None:
    model = build_model(name, NUM_CLASSES).eval()
    with torch.inference_mode():
        output = model(torch.randn(2, 3, HEIGHT, WIDTH))
    assert set(output) == {"out"}
    assert output["out"].shape == (2, NUM_CLASSES, HEIGHT, WIDTH)
    assert torch.isfinite(output["out"]).all()


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_two_input_channels(name: str) -> None:
    model = build_model(name, 3, in_channels=2).eval()
    with torch.inference_mode():
        output = model(torch.randn(1, 2, 40, 56))
    assert output["out"].shape == (1, 3, 40, 56)


def test_unknown_model() -> None:
    with pytest.raises(ValueError, match="unknown model 'segnet'"):
        build_model("segnet", NUM_CLASSES)


def test_unknown_encoder() -> None:
    with pytest.raises(ValueError, match="unknown encoder 'vgg16'"):
        build_model("fcn8s", NUM_CLASSES, encoder="vgg16")


def test_non_positive_num_classes() -> None:
    with pytest.raises(ValueError, match="num_classes"):
        build_model("lraspp", 0)


def test_resnet18_cannot_be_dilated() -> None:
    with pytest.raises(ValueError, match="resnet18"):
        build_encoder("resnet18", dilated=True)


@pytest.mark.parametrize(
    ("name", "dilated"),
    [
        ("resnet18", False),
        ("resnet50", True),
        ("mobilenet_v3_large", False),
        ("mobilenet_v3_large", True),
        ("mobilenet_v3_small", True),
    ],
)
def test_encoder_strides_match_feature_sizes(name: str, dilated: bool) -> None:
    encoder = build_encoder(name, dilated=dilated).eval()
    with torch.inference_mode():
        features = encoder(torch.randn(1, 3, 64, 96))
    for level, feature in features.items():
        stride = encoder.strides[level]
        assert feature.shape[1] == encoder.channels[level]
        assert feature.shape[-2:] == (64 // stride, 96 // stride)


def test_bilinear_kernel_values() -> None:
    weight = bilinear_kernel(2, 4)
    # factor 2, centre 1.5: profile 1 - |(0, 1, 2, 3) - 1.5| / 2 = (0.25, 0.75, 0.75, 0.25)
    profile = torch.tensor([0.25, 0.75, 0.75, 0.25])
    torch.testing.assert_close(weight[0, 0], profile[:, None] * profile[None, :])
    torch.testing.assert_close(weight[1, 1], weight[0, 0])
    assert not weight[0, 1].any()
    assert not weight[1, 0].any()


def fcn_upsamplers() -> dict[str, nn.ConvTranspose2d]:
    model = build_model("fcn8s", NUM_CLASSES)
    return {name: getattr(model, name) for name in ("up2_c5", "up2_c4", "up8")}


def test_fcn8s_transposed_convs_start_bilinear() -> None:
    for name, layer in fcn_upsamplers().items():
        kernel, stride = layer.kernel_size[0], layer.stride[0]
        assert kernel % stride == 0, name  # no checkerboard: every output gets equal taps
        assert layer.bias is None
        torch.testing.assert_close(layer.weight.data, bilinear_kernel(NUM_CLASSES, kernel))


@pytest.mark.parametrize("stride", [2, 8])
def test_bilinear_transposed_conv_keeps_constants(stride: int) -> None:
    layer = fcn_upsamplers()["up2_c5" if stride == 2 else "up8"]
    assert layer.stride[0] == stride
    maps = torch.zeros(1, NUM_CLASSES, 6, 7)
    maps[:, 0] = 3.5  # one class map constant, the others zero
    with torch.no_grad():
        upsampled = layer(maps)
    assert upsampled.shape[-2:] == (6 * stride, 7 * stride)
    # the border sees only part of the kernel; the interior is exactly the constant
    interior = upsampled[..., stride:-stride, stride:-stride]
    torch.testing.assert_close(interior[0, 0], torch.full_like(interior[0, 0], 3.5))
    assert not upsampled[0, 1:].any()  # classes are upsampled independently


def test_bilinear_transposed_conv_matches_interpolation() -> None:
    layer = fcn_upsamplers()["up2_c4"]
    ramp = torch.arange(8, dtype=torch.float32).view(1, 1, 1, 8).expand(1, NUM_CLASSES, 8, 8)
    with torch.no_grad():
        upsampled = layer(ramp.contiguous())
    expected = F.interpolate(ramp, scale_factor=2, mode="bilinear", align_corners=False)
    torch.testing.assert_close(upsampled[..., 2:-2, 2:-2], expected[..., 2:-2, 2:-2])


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_one_training_step_changes_parameters(name: str, tmp_path: Path) -> None:
    model = build_model(name, NUM_CLASSES).train()
    images = torch.randn(2, 3, 64, 96)
    labels = torch.randint(0, NUM_CLASSES, (2, 64, 96))
    labels[:, :4] = 255  # an ignored band, as CamVid's unlabelled pixels
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)

    loss = F.cross_entropy(model(images)["out"], labels, ignore_index=255)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

    assert torch.isfinite(loss)
    changed = {k for k, v in model.named_parameters() if not torch.equal(v, before[k])}
    with_gradient = {
        k for k, v in model.named_parameters() if v.grad is not None and v.grad.abs().sum() > 0
    }
    assert with_gradient, "no parameter received a gradient"
    assert with_gradient <= changed
    # the classifier (last parameters registered) always learns
    assert list(before)[-1] in changed

    # and the trained model round-trips a checkpoint: same predictions after loading
    path = tmp_path / f"{name}.pt"
    payload = {"model_name": name, "model_kwargs": {}, "class_names": list(CAMVID.names)}
    save_checkpoint(path, {**payload, "state_dict": model.state_dict()})
    loaded, _ = load_model(path, expected_classes=CAMVID)
    model.eval()
    with torch.inference_mode():
        torch.testing.assert_close(loaded(images)["out"], model(images)["out"], rtol=0, atol=0)


def test_profile_model_counts_parameters_and_flops() -> None:
    from seg_perception.evaluation.model_profile import profile_model

    profile = profile_model("lraspp", size=(96, 64), repeats=1)
    model = build_model("lraspp", 11)
    assert profile.params_millions == pytest.approx(
        sum(p.numel() for p in model.parameters()) / 1e6
    )
    bigger = profile_model("lraspp", size=(192, 128), repeats=1)
    assert 3.0 < bigger.gflops / profile.gflops < 5.0  # compute grows with the pixel count
    assert profile.cpu_ms_median > 0
