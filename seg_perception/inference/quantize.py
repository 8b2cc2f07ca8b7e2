"""Post-training static INT8 quantization of the segmentation network (ONNX Runtime).

The FP32 export of the fused network step (``FusedSegmentation``: uint8 frame in,
labels and confidence out) is quantized to QDQ form with activation ranges calibrated
(min/max, averaged over the frames) on CamVid training frames resized to the network
size as the pipeline resizes them. The recipe, chosen on CamVid val and the sample
frames (docs/benchmarks.md, "INT8 that holds on every x86 CPU"):

- weights per output channel in 7 bits ([-64, 64], ``reduce_range``): no CPU without
  VNNI can saturate on them (``int8_saturation``), so the agreement with FP32
  measured here holds on every x86 CPU;
- the biases corrected for the weights' rounding (``bias_correction``);
- only the convolutions and their ReLU6 quantized (UINT8 activations): the
  element-wise operations (residual sums, the head's attention product, upsampling,
  the class reduction) stay in float, where they cost little time and quantizing them
  moved the most labels;
- the first ``FLOAT_LEADING_CONVS`` convolutions in float (EfficientNet-Lite's stem and
  first block, at half the input resolution): they were the most sensitive layers one
  by one, and keeping them lifts the agreement more than any calibration choice did.

ONNX Runtime and OpenVINO both run the result. The file records the checkpoint's
SHA-256, the input size and the confidence stride it was made for.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from ..io_utils import atomic_write
from .bias_correction import conv_input_means, correct_conv_biases
from .int8_saturation import SATURATION_FREE_WEIGHT_LIMIT, largest_int8_weight
from .segmentation_network import INT8_SOURCE_FIELD, int8_tag

__all__ = ["quantize_segmentation", "calibration_batches", "leading_convs"]

FLOAT_LEADING_CONVS = 3


def calibration_batches(
    frames: Sequence[np.ndarray], input_size: tuple[int, int]
) -> Iterator[np.ndarray]:
    """(1, H, W, 3) uint8 inputs of RGB ``frames``, resized as the pipeline resizes them."""
    for rgb in frames:
        yield cv2.resize(rgb, input_size, interpolation=cv2.INTER_LINEAR)[None]


def leading_convs(graph, count: int = FLOAT_LEADING_CONVS) -> list[str]:
    """Names of the first ``count`` Conv nodes in graph (topological) order."""
    return [node.name for node in graph.node if node.op_type == "Conv"][:count]


class _Reader:
    """ONNX Runtime's CalibrationDataReader protocol over the calibration frames."""

    def __init__(self, batches: Iterator[np.ndarray], total: int):
        self.batches = iter(tqdm(batches, total=total, desc="calibrate", unit="frame"))

    def get_next(self) -> dict[str, np.ndarray] | None:
        batch = next(self.batches, None)
        return None if batch is None else {"rgb": batch}

    def rewind(self) -> None:  # calibration passes over the data once
        pass


def quantize_segmentation(
    fp32_onnx: str | os.PathLike,
    frames: Sequence[np.ndarray],
    input_size: tuple[int, int],
    stride: int,
    source_sha256: str,
    out: str | os.PathLike,
) -> Path:
    """Write the INT8 model of ``fp32_onnx`` to ``out`` (atomically)."""
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with tempfile.TemporaryDirectory() as scratch:
        prepared = Path(scratch) / "prepared.onnx"
        quant_pre_process(str(fp32_onnx), str(prepared), skip_symbolic_shape=True)
        fp32 = onnx.load(str(prepared))
        quantized = Path(scratch) / "int8.onnx"
        quantize_static(
            str(prepared),
            str(quantized),
            _Reader(calibration_batches(frames, input_size), len(frames)),
            quant_format=QuantFormat.QDQ,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            per_channel=True,
            reduce_range=True,
            op_types_to_quantize=["Conv", "Clip"],
            nodes_to_exclude=leading_convs(fp32.graph),
            calibrate_method=CalibrationMethod.MinMax,
            extra_options={"CalibMovingAverage": True},
        )
        model = onnx.load(str(quantized))
    means = conv_input_means(fp32, calibration_batches(frames, input_size))
    correct_conv_biases(model, fp32, means)
    largest = largest_int8_weight(model)
    if largest > SATURATION_FREE_WEIGHT_LIMIT:  # reduce_range did not hold
        raise RuntimeError(f"an int8 weight of {largest} could saturate on CPUs without VNNI")
    entry = model.metadata_props.add()
    entry.key = INT8_SOURCE_FIELD
    entry.value = int8_tag(source_sha256, input_size, stride)
    with atomic_write(out) as tmp:
        onnx.save(model, str(tmp))
    return Path(out)
