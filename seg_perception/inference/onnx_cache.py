"""ONNX export of a network and its on-disk cache (no ROS).

An exported file is keyed by the SHA-256 of what it was made from (the checkpoint file,
or the weights of a model without one), the input shapes and the export version, and
carries that key in its metadata. ``cached_onnx`` reuses a file only when it loads, its
key matches and it passes the ONNX checker; anything else (a truncated download, a
stale export, a file of another checkpoint) is rebuilt, never used. Files are written
atomically, so a crash mid-export leaves no half file.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from ..io_utils import atomic_write, file_sha256

__all__ = ["cache_dir", "cached_onnx", "export_onnx", "file_sha256", "onnx_key", "weights_sha256"]

EXPORT_VERSION = "1"  # bump when the export itself changes: older cache files are rebuilt
OPSET = 17
KEY_FIELD = "seg_perception_key"


def cache_dir() -> Path:
    """``$SEG_PERCEPTION_CACHE`` or ``$XDG_CACHE_HOME/seg_perception`` (``~/.cache``)."""
    configured = os.environ.get("SEG_PERCEPTION_CACHE")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "seg_perception"


def weights_sha256(model: nn.Module) -> str:
    """SHA-256 of a model's state (for models that come from no checkpoint file)."""
    digest = hashlib.sha256()
    for key, value in model.state_dict().items():
        digest.update(key.encode())
        digest.update(value.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def onnx_key(source_sha256: str, shapes: Sequence[Sequence[int]], variant: str = "") -> str:
    """The cache key: source, input shapes, variant (e.g. which outputs), export version."""
    text = "|".join([source_sha256, repr([tuple(s) for s in shapes]), variant, EXPORT_VERSION])
    return hashlib.sha256(text.encode()).hexdigest()


class _Outputs(nn.Module):
    """The model with its dict outputs as a tuple, in ``output_names`` order."""

    def __init__(self, model: nn.Module, output_names: Sequence[str], kwargs: dict):
        super().__init__()
        self.model, self.output_names, self.kwargs = model, tuple(output_names), kwargs

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        outputs = self.model(*inputs, **self.kwargs)
        return tuple(outputs[name] for name in self.output_names)


def export_onnx(
    model: nn.Module,
    example_inputs: Sequence[torch.Tensor],
    input_names: Sequence[str],
    output_names: Sequence[str],
    path: str | os.PathLike,
    key: str,
    forward_kwargs: dict | None = None,
) -> Path:
    """Export ``model`` (eval mode, float32, CPU) to ``path`` atomically, tagged with ``key``."""
    import onnx

    was_training = model.training
    # the wrapper is put in eval mode too: the exporter restores the mode of the module it
    # is given, recursively, which would otherwise leave ``model`` in training mode
    wrapper = _Outputs(model.eval().float().cpu(), output_names, forward_kwargs or {}).eval()
    with atomic_write(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer and legacy-exporter notices
        torch.onnx.export(
            wrapper,
            tuple(x.cpu() for x in example_inputs),
            str(tmp),
            input_names=list(input_names),
            output_names=list(output_names),
            opset_version=OPSET,
            dynamo=False,
        )
        exported = onnx.load(str(tmp))
        entry = exported.metadata_props.add()
        entry.key, entry.value = KEY_FIELD, key
        onnx.save(exported, str(tmp))
    model.train(was_training)
    return Path(path)


def onnx_file_key(path: str | os.PathLike) -> str | None:
    """The key an exported file carries, or None when it is not a valid ONNX model."""
    import onnx

    try:
        model = onnx.load(str(path))
        onnx.checker.check_model(model)
    except Exception:  # truncated, corrupt or not ONNX at all
        return None
    return next((p.value for p in model.metadata_props if p.key == KEY_FIELD), None)


def cached_onnx(
    model: nn.Module,
    example_inputs: Sequence[torch.Tensor],
    input_names: Sequence[str],
    output_names: Sequence[str],
    name: str,
    source_sha256: str,
    forward_kwargs: dict | None = None,
    folder: Path | None = None,
) -> tuple[Path, bool]:
    """The cached ONNX export of ``model``; exported (again) when missing, corrupt or
    stale. Returns the path and whether it was (re)built now."""
    shapes = [tuple(x.shape) for x in example_inputs]
    key = onnx_key(source_sha256, shapes, f"{name}:{','.join(output_names)}")
    size = "x".join(str(v) for v in shapes[0][-2:][::-1])
    path = (folder or cache_dir() / "onnx") / f"{name}-{size}-{key[:16]}.onnx"
    if path.is_file() and onnx_file_key(path) == key:
        return path, False
    export_onnx(model, example_inputs, input_names, output_names, path, key, forward_kwargs)
    return path, True
