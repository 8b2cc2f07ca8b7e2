"""Post-training static INT8 quantization of the segmentation network (ONNX Runtime).

The FP32 ONNX export is quantized to QDQ form (INT8 weights per output channel, UINT8
activations) with activation ranges calibrated on CamVid training frames prepared
exactly as the pipeline prepares frames (resize to the network size, ImageNet
normalisation). ONNX Runtime and OpenVINO both run the result. The file records the
checkpoint's SHA-256 and the input size it was made for.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from ..data.transforms import normalize_image
from ..io_utils import atomic_write
from .segmentation_network import INT8_SOURCE_FIELD

__all__ = ["quantize_segmentation", "calibration_batches"]


def calibration_batches(
    frames: Sequence[np.ndarray], input_size: tuple[int, int]
) -> Iterator[np.ndarray]:
    """(1, 3, H, W) float32 network inputs of RGB ``frames``, as the pipeline makes them."""
    for rgb in frames:
        small = cv2.resize(rgb, input_size, interpolation=cv2.INTER_LINEAR)
        yield normalize_image(small)[None].numpy()


class _Reader:
    """ONNX Runtime's CalibrationDataReader protocol over the calibration frames."""

    def __init__(self, batches: Iterator[np.ndarray], total: int):
        self.batches = iter(tqdm(batches, total=total, desc="calibrate", unit="frame"))

    def get_next(self) -> dict[str, np.ndarray] | None:
        batch = next(self.batches, None)
        return None if batch is None else {"image": batch}

    def rewind(self) -> None:  # calibration passes over the data once
        pass


def quantize_segmentation(
    fp32_onnx: str | os.PathLike,
    frames: Sequence[np.ndarray],
    input_size: tuple[int, int],
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
        entry.value = f"{source_sha256}|{input_size[0]}x{input_size[1]}"
        with atomic_write(out) as tmp:
            onnx.save(model, str(tmp))
    return Path(out)
