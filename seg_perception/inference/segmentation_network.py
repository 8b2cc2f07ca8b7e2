"""The segmentation network on the chosen backend, in FP32 or as an INT8 model (no ROS)."""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from .backends import BackendChoice, CompiledNetwork, compile_network
from .onnx_cache import cached_onnx, weights_sha256

__all__ = ["segmentation_network", "int8_source", "INT8_SOURCE_FIELD"]

INT8_SOURCE_FIELD = "seg_perception_int8_source"  # "<checkpoint sha256>|<width>x<height>"


def int8_source(path: str | os.PathLike) -> str | None:
    """What an INT8 model was quantized from (``sha256|WxH``), or None if unreadable."""
    import onnx

    try:
        model = onnx.load(str(path))
    except Exception:
        return None
    return next((p.value for p in model.metadata_props if p.key == INT8_SOURCE_FIELD), None)


def segmentation_network(
    model: nn.Module,
    input_size: tuple[int, int],
    choice: BackendChoice,
    device: torch.device,
    source_sha256: str | None = None,
    threads: int = 0,
    int8_model: str | os.PathLike | None = None,
) -> CompiledNetwork:
    """``model`` (input (1, 3, H, W), output ``out``) on ``choice``'s backend.

    Args:
        model: the float network.
        input_size: network (width, height).
        choice: the resolved backend.
        device: where it runs.
        source_sha256: the checkpoint file's SHA-256 (the ONNX cache key; default: the
            weights' own digest).
        threads: runtime CPU threads (0: its default).
        int8_model: run this INT8 ONNX model instead (``seg-perception quantize``); it must
            have been made from the same checkpoint and input size.

    Raises:
        ValueError: INT8 on torch, or an INT8 model of another checkpoint or size.
    """
    width, height = input_size
    source = source_sha256 or weights_sha256(model)
    if int8_model:
        if choice.name == "torch":
            raise ValueError("inference_precision int8 needs the onnxruntime or openvino backend")
        made_from = int8_source(int8_model)
        if made_from is None:
            raise ValueError(f"INT8 model {int8_model} is missing or not a quantized model")
        if made_from != f"{source}|{width}x{height}":
            raise ValueError(
                f"INT8 model {int8_model} was quantized from another checkpoint or input size "
                f"({made_from.split('|')[-1]}); quantize this checkpoint at {width}x{height}"
            )
        path = Path(int8_model)
        return compile_network(model, choice.name, ["out"], lambda: path, device, threads)
    example = torch.zeros(1, 3, height, width)

    def onnx_path() -> Path:
        return cached_onnx(model, [example], ["image"], ["out"], "segmentation", source)[0]

    return compile_network(model, choice.name, ["out"], onnx_path, device, threads)
