"""INT8 quantization: 7-bit weights (no saturation on CPUs without VNNI), bias
correction, the float tail, and ``seg-perception quantize`` end to end."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from torch import nn

from seg_perception.inference.bias_correction import conv_input_means, correct_conv_biases
from seg_perception.inference.int8_saturation import largest_int8_weight, saturation_free
from seg_perception.inference.quantize import leading_convs
from seg_perception.inference.segmentation_network import int8_source

ort = pytest.importorskip("onnxruntime")
quantization = pytest.importorskip("onnxruntime.quantization")


class Reader:
    def __init__(self, batches: list[np.ndarray]):
        self.batches = iter(batches)

    def get_next(self):
        batch = next(self.batches, None)
        return None if batch is None else {"x": batch}


def export(module: nn.Module, path: Path, shape: tuple[int, ...]) -> onnx.ModelProto:
    torch.onnx.export(
        module.eval(),
        torch.zeros(shape),
        str(path),
        input_names=["x"],
        output_names=["y"],
        opset_version=17,
        dynamo=False,
    )
    return onnx.load(str(path))


def quantize(
    fp32: Path, out: Path, batches: list[np.ndarray], reduce_range: bool
) -> onnx.ModelProto:
    q = quantization
    q.quantize_static(
        str(fp32),
        str(out),
        Reader(batches),
        quant_format=q.QuantFormat.QDQ,
        activation_type=q.QuantType.QUInt8,
        weight_type=q.QuantType.QInt8,
        per_channel=True,
        reduce_range=reduce_range,
        calibrate_method=q.CalibrationMethod.MinMax,
    )
    return onnx.load(str(out))


def run(model: onnx.ModelProto, batch: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": batch})[0]


@pytest.fixture(scope="module")
def conv_model(tmp_path_factory) -> tuple[Path, list[np.ndarray]]:
    """A 3x3 convolution whose input has a far-from-zero mean (rounding shifts outputs)."""
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("conv")
    conv = nn.Conv2d(6, 8, 3, padding=1)
    export(conv, folder / "conv.onnx", (1, 6, 24, 24))
    rng = np.random.default_rng(0)
    batches = [(rng.random((1, 6, 24, 24)) * 2 + 1).astype(np.float32) for _ in range(8)]
    return folder / "conv.onnx", batches


def test_reduced_range_weights_cannot_saturate(conv_model, tmp_path: Path) -> None:
    fp32, batches = conv_model
    eight_bit = quantize(fp32, tmp_path / "8.onnx", batches, reduce_range=False)
    seven_bit = quantize(fp32, tmp_path / "7.onnx", batches, reduce_range=True)
    assert largest_int8_weight(eight_bit) == 127 and not saturation_free(eight_bit)
    assert 32 < largest_int8_weight(seven_bit) <= 64 and saturation_free(seven_bit)
    assert largest_int8_weight(onnx.load(str(fp32))) == 0  # nothing quantized


def test_bias_correction_removes_the_mean_shift_of_rounded_weights(
    conv_model, tmp_path: Path
) -> None:
    fp32_path, batches = conv_model
    fp32 = onnx.load(str(fp32_path))
    quantized = quantize(fp32_path, tmp_path / "7.onnx", batches, reduce_range=True)
    corrected = onnx.ModelProto()
    corrected.CopyFrom(quantized)
    assert correct_conv_biases(corrected, fp32, conv_input_means(fp32, batches)) == 1

    def mean_shift(model: onnx.ModelProto) -> float:  # per channel, over held-out inputs
        rng = np.random.default_rng(1)
        test = [(rng.random((1, 6, 24, 24)) * 2 + 1).astype(np.float32) for _ in range(4)]
        errors = [run(model, x) - run(fp32, x) for x in test]
        return float(np.abs(np.mean(errors, axis=(0, 1, 3, 4))).mean())

    assert mean_shift(corrected) < 0.5 * mean_shift(quantized)


def test_only_convolutions_after_the_leading_ones_are_quantized(tmp_path: Path) -> None:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.convs = nn.ModuleList(nn.Conv2d(4 if i else 3, 4, 1) for i in range(5))

        def forward(self, x):
            for conv in self.convs:
                x = torch.relu(conv(x)) + 1.0
            return x

    graph = export(Net(), tmp_path / "net.onnx", (1, 3, 8, 8)).graph
    assert leading_convs(graph, 3) == [n.name for n in graph.node if n.op_type == "Conv"][:3]


def test_quantize_cli_writes_a_tagged_saturation_free_model(
    small_cosine_checkpoint: Path, tmp_path: Path
) -> None:
    root = os.environ.get("SEG_PERCEPTION_DATA")
    if not root or not (Path(root) / "camvid" / "train.txt").is_file():
        pytest.skip("SEG_PERCEPTION_DATA holds no camvid/")
    from seg_perception.cli import main as cli_main

    out = tmp_path / "int8.onnx"
    argv = [
        "quantize",
        "--checkpoint",
        str(small_cosine_checkpoint),
        "--data-root",
        root,
        "--out",
        str(out),
        "--frames",
        "3",
        "--width",
        "96",
        "--height",
        "72",
    ]
    assert cli_main(argv) == 0
    assert saturation_free(onnx.load(str(out)))
    assert int8_source(out).endswith("|96x72|stride 4")
