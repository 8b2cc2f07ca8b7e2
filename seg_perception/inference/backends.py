"""Inference backends: the same network run by torch, ONNX Runtime or OpenVINO (no ROS).

``choose_backend`` resolves ``auto`` (OpenVINO on an x86 CPU when installed, else ONNX
Runtime, with its CUDA/TensorRT providers for a CUDA device when present; torch as the
last resort) and says why. ``compile_network`` returns a ``CompiledNetwork``: call it with
the network's inputs as tensors, get its named outputs as tensors. ONNX models come from
``onnx_cache`` (exported on first use, keyed by the weights and the input size).
"""

from __future__ import annotations

import importlib.util
import os
import platform
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

__all__ = [
    "BACKENDS",
    "PRECISIONS",
    "BackendChoice",
    "CompiledNetwork",
    "choose_backend",
    "compile_network",
    "installed_backends",
]

BACKENDS = ("auto", "torch", "onnxruntime", "openvino")
PRECISIONS = ("fp32", "int8")
_PACKAGES = {"onnxruntime": "onnxruntime==1.31.1", "openvino": "openvino==2026.4.1"}


@dataclass(frozen=True)
class BackendChoice:
    """The backend that runs the network, and why it was picked."""

    name: str
    reason: str


def installed_backends() -> list[str]:
    """Backends whose runtime can be imported here (torch always)."""
    return ["torch"] + [name for name in _PACKAGES if importlib.util.find_spec(name)]


def _ort_providers() -> list[str]:
    import onnxruntime

    return onnxruntime.get_available_providers()


def choose_backend(requested: str, device: torch.device) -> BackendChoice:
    """Resolve ``requested`` (one of ``BACKENDS``) for ``device``.

    Raises:
        ValueError: an unknown backend, or one that is not installed (one line, with the
            pip command).
    """
    if requested not in BACKENDS:
        raise ValueError(f"inference_backend must be one of {', '.join(BACKENDS)}")
    available = installed_backends()
    if requested != "auto":
        if requested not in available:
            raise ValueError(
                f"inference backend {requested} is not installed: pip install "
                f"{_PACKAGES[requested]}"
            )
        if requested == "openvino" and device.type == "cuda":
            raise ValueError("the openvino backend runs on the CPU; use device cpu")
        return BackendChoice(requested, "requested")
    if device.type == "cuda":
        if "onnxruntime" in available and (
            {"TensorrtExecutionProvider", "CUDAExecutionProvider"} & set(_ort_providers())
        ):
            return BackendChoice("onnxruntime", "CUDA device and ONNX Runtime's GPU providers")
        return BackendChoice("torch", "CUDA device without ONNX Runtime's GPU providers")
    x86 = platform.machine().lower() in ("x86_64", "amd64", "i686", "x86")
    if x86 and "openvino" in available:
        return BackendChoice("openvino", "x86 CPU with OpenVINO installed")
    if "onnxruntime" in available:
        reason = "OpenVINO not installed" if x86 else f"{platform.machine()} CPU"
        return BackendChoice("onnxruntime", reason)
    return BackendChoice("torch", "neither OpenVINO nor ONNX Runtime is installed")


class CompiledNetwork:
    """A network behind one backend: ``network(*inputs) -> {output name: tensor}``.

    Args:
        run: maps input tensors to output tensors, in ``output_names`` order.
        backend: the backend's name.
        output_names: names of the outputs.
        source: what it runs (a checkpoint's ONNX file, or "torch").
    """

    def __init__(
        self,
        run: Callable[..., Sequence[torch.Tensor]],
        backend: str,
        output_names: Sequence[str],
        source: str = "torch",
    ):
        self._run = run
        self.backend = backend
        self.output_names = tuple(output_names)
        self.source = source

    def __call__(self, *inputs: torch.Tensor) -> dict[str, torch.Tensor]:
        return dict(zip(self.output_names, self._run(*inputs), strict=True))


def _torch_network(model: nn.Module, output_names: Sequence[str]) -> CompiledNetwork:
    model = model.eval().to(memory_format=torch.channels_last)

    @torch.inference_mode()
    def run(*inputs: torch.Tensor) -> list[torch.Tensor]:
        outputs = model(*(x.contiguous(memory_format=torch.channels_last) for x in inputs))
        return [outputs[name] for name in output_names]

    return CompiledNetwork(run, "torch", output_names)


def _numpy_inputs(inputs: Sequence[torch.Tensor]) -> list[np.ndarray]:
    """Contiguous arrays of the inputs (uint8 frames stay uint8, the rest float32)."""
    arrays = []
    for x in inputs:
        array = x.detach().cpu().numpy()
        dtype = np.uint8 if array.dtype == np.uint8 else np.float32
        arrays.append(np.ascontiguousarray(array, dtype=dtype))
    return arrays


def _onnxruntime_network(
    path: Path, output_names: Sequence[str], device: torch.device, threads: int
) -> CompiledNetwork:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        options.intra_op_num_threads = threads
    options.log_severity_level = 3  # errors only: no per-session warnings on stderr
    providers = ["CPUExecutionProvider"]
    if device.type == "cuda":
        gpu = [
            p
            for p in ("TensorrtExecutionProvider", "CUDAExecutionProvider")
            if p in _ort_providers()
        ]
        providers = gpu + providers
    session = onnxruntime.InferenceSession(str(path), options, providers=providers)
    input_names = [i.name for i in session.get_inputs()]

    def run(*inputs: torch.Tensor) -> list[torch.Tensor]:
        feed = dict(zip(input_names, _numpy_inputs(inputs), strict=True))
        return [torch.from_numpy(o) for o in session.run(list(output_names), feed)]

    return CompiledNetwork(run, "onnxruntime", output_names, str(path))


def _openvino_network(path: Path, output_names: Sequence[str], threads: int) -> CompiledNetwork:
    import openvino

    config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32"}
    if threads:
        config["INFERENCE_NUM_THREADS"] = threads
    compiled = openvino.Core().compile_model(str(path), "CPU", config)
    request = compiled.create_infer_request()
    ports = [compiled.output(name) for name in output_names]

    def run(*inputs: torch.Tensor) -> list[torch.Tensor]:
        results = request.infer(_numpy_inputs(inputs))
        return [torch.from_numpy(np.array(results[port], copy=True)) for port in ports]

    return CompiledNetwork(run, "openvino", output_names, str(path))


def compile_network(
    model: nn.Module,
    backend: str,
    output_names: Sequence[str],
    onnx_path: Callable[[], Path] | None = None,
    device: torch.device | None = None,
    threads: int = 0,
) -> CompiledNetwork:
    """``model`` on ``backend`` (already resolved: torch, onnxruntime or openvino).

    Args:
        model: the torch network (used as is for torch; for the others ``onnx_path``
            gives its exported ONNX file).
        backend: the backend's name.
        output_names: the model's output keys to return, in order.
        onnx_path: returns the ONNX file (exporting it if needed); needed unless torch.
        device: where to run (CUDA only for torch and ONNX Runtime's GPU providers).
        threads: CPU threads of the runtime (0: its default).
    """
    device = device or torch.device("cpu")
    if backend == "torch":
        return _torch_network(model.to(device), output_names)
    if onnx_path is None:
        raise ValueError(f"the {backend} backend needs an ONNX model")
    path = onnx_path()
    if backend == "onnxruntime":
        return _onnxruntime_network(path, output_names, device, threads)
    if backend == "openvino":
        os.environ.setdefault("OV_TELEMETRY", "0")
        return _openvino_network(path, output_names, threads)
    raise ValueError(f"unknown backend {backend!r}")
