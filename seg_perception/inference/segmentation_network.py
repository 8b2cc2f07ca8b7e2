"""The segmentation network on the chosen backend, in FP32 or as an INT8 model (no ROS).

For ONNX Runtime and OpenVINO the exported graph is the whole per-frame network step,
``FusedSegmentation``: it takes the resized frame as uint8 RGB (1, H, W, 3), normalises
it, runs the network and reduces the class scores to ``labels`` (uint8 argmax) and
``confidence`` (max softmax on every ``stride``-th pixel), exactly as the torch path
computes them. The runtime then does that work with its own threads, and the
(1, K, H, W) float logits never leave it.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from ..models.normalization import MEAN, STD
from .backends import BackendChoice, CompiledNetwork, compile_network
from .onnx_cache import cached_onnx, weights_sha256

__all__ = [
    "FUSED_OUTPUTS",
    "FusedSegmentation",
    "segmentation_network",
    "fused_onnx",
    "int8_source",
    "int8_tag",
    "INT8_SOURCE_FIELD",
]

# "<checkpoint sha256>|<width>x<height>|stride <s>": what an INT8 model was made from
INT8_SOURCE_FIELD = "seg_perception_int8_source"
FUSED_OUTPUTS = ("labels", "confidence")


class FusedSegmentation(nn.Module):
    """uint8 RGB (1, H, W, 3) -> ``labels`` (1, H, W) uint8 and ``confidence``
    (1, ceil(H/s), ceil(W/s)) float32, the max softmax probability.

    Args:
        model: a segmentation model (ImageNet mean/std input, ``{"out": logits}``).
        stride: confidence on every ``stride``-th pixel per axis.
        probabilities: also output ``probabilities``, the (1, K, H, W) softmax (for a CRF).
    """

    def __init__(self, model: nn.Module, stride: int, probabilities: bool = False):
        super().__init__()
        self.model, self.stride, self.probabilities = model, stride, probabilities
        std = torch.as_tensor(STD) * 255.0
        self.register_buffer("scale", (1.0 / std).view(1, 3, 1, 1), persistent=False)
        self.register_buffer(
            "shift", (-torch.as_tensor(MEAN) * 255.0 / std).view(1, 3, 1, 1), persistent=False
        )

    def forward(self, rgb: torch.Tensor) -> dict[str, torch.Tensor]:
        image = rgb.permute(0, 3, 1, 2).float() * self.scale + self.shift  # (1, 3, H, W)
        scores = self.model(image)["out"]  # (1, K, H, W)
        top_logit, top_class = scores.max(dim=1)  # (1, H, W)
        step = self.stride
        sampled = scores[:, :, ::step, ::step]
        confidence = torch.exp(sampled - top_logit[:, None, ::step, ::step]).sum(dim=1)
        out = {"labels": top_class.to(torch.uint8), "confidence": 1.0 / confidence}
        if self.probabilities:
            out["probabilities"] = torch.softmax(scores, dim=1)
        return out


def int8_tag(source_sha256: str, input_size: tuple[int, int], stride: int) -> str:
    return f"{source_sha256}|{input_size[0]}x{input_size[1]}|stride {stride}"


def fused_onnx(
    model: nn.Module,
    input_size: tuple[int, int],
    stride: int,
    source_sha256: str,
    probabilities: bool = False,
) -> Path:
    """The cached ONNX export of ``FusedSegmentation(model, stride, probabilities)`` at
    ``input_size``."""
    width, height = input_size
    example = torch.zeros(1, height, width, 3, dtype=torch.uint8)
    fused = FusedSegmentation(model, stride, probabilities).eval()
    name = f"segmentation-fused-s{stride}" + ("-probabilities" if probabilities else "")
    outputs = [*FUSED_OUTPUTS, *(["probabilities"] if probabilities else [])]
    return cached_onnx(fused, [example], ["rgb"], outputs, name, source_sha256)[0]


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
    stride: int = 4,
    probabilities: bool = False,
) -> CompiledNetwork:
    """``model`` on ``choice``'s backend: torch runs it as it is (input (1, 3, H, W),
    output ``out``); the others run its ``FusedSegmentation`` export (outputs
    ``labels`` and ``confidence``).

    Args:
        model: the float network.
        input_size: network (width, height).
        choice: the resolved backend.
        device: where it runs.
        source_sha256: the checkpoint file's SHA-256 (the ONNX cache key; default: the
            weights' own digest).
        threads: runtime CPU threads (0: its default).
        int8_model: run this INT8 ONNX model instead (``seg-perception quantize``); it must
            have been made from the same checkpoint, input size and stride.
        stride: the confidence stride of the fused graph.
        probabilities: the fused graph also outputs the softmax (``probabilities``).

    Raises:
        ValueError: INT8 on torch, INT8 with ``probabilities``, or an INT8 model of
            another checkpoint or size.
    """
    width, height = input_size
    source = source_sha256 or weights_sha256(model)
    if int8_model:
        if probabilities:
            raise ValueError(
                "an INT8 model outputs no class probabilities (needed by refine crf); use fp32"
            )
        if choice.name == "torch":
            raise ValueError("inference_precision int8 needs the onnxruntime or openvino backend")
        made_from = int8_source(int8_model)
        if made_from is None:
            raise ValueError(f"INT8 model {int8_model} is missing or not a quantized model")
        if made_from != int8_tag(source, input_size, stride):
            made = " ".join(made_from.split("|")[1:])
            raise ValueError(
                f"INT8 model {int8_model} was quantized from another checkpoint, input size or "
                f"confidence stride ({made}); quantize this checkpoint at {width}x{height}, "
                f"stride {stride}"
            )
        path = Path(int8_model)
        return compile_network(model, choice.name, FUSED_OUTPUTS, lambda: path, device, threads)
    if choice.name == "torch":
        return compile_network(model, "torch", ["out"], device=device)
    outputs = [*FUSED_OUTPUTS, *(["probabilities"] if probabilities else [])]
    return compile_network(
        model,
        choice.name,
        outputs,
        lambda: fused_onnx(model, input_size, stride, source, probabilities),
        device,
        threads,
    )
