"""Post-training static INT8 quantization of the segmentation network (ONNX Runtime).

The FP32 export of the fused network step (``FusedSegmentation``: uint8 frame in,
labels and confidence out) is quantized to QDQ form (INT8 weights per output channel,
UINT8 activations) with activation ranges calibrated on CamVid training frames resized
to the network size as the pipeline resizes them. ONNX Runtime and OpenVINO both run
the result. The file records the checkpoint's SHA-256, the input size and the
confidence stride it was made for.
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
from .segmentation_network import INT8_SOURCE_FIELD, int8_tag

__all__ = ["quantize_segmentation", "calibration_batches"]


def calibration_batches(
    frames: Sequence[np.ndarray], input_size: tuple[int, int]
) -> Iterator[np.ndarray]:
    """(1, H, W, 3) uint8 inputs of RGB ``frames``, resized as the pipeline resizes them."""
    for rgb in frames:
        yield cv2.resize(rgb, input_size, interpolation=cv2.INTER_LINEAR)[None]


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
        quantized = Path(scratch) / "int8.onnx"
        quantize_static(
            str(prepared),
            str(quantized),
            _Reader(calibration_batches(frames, input_size), len(frames)),
            quant_format=QuantFormat.QDQ,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            per_channel=True,
            calibrate_method=CalibrationMethod.MinMax,
        )
        model = onnx.load(str(quantized))
        entry = model.metadata_props.add()
        entry.key = INT8_SOURCE_FIELD
        entry.value = int8_tag(source_sha256, input_size, stride)
        with atomic_write(out) as tmp:
            onnx.save(model, str(tmp))
    return Path(out)
