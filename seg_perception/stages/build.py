"""Building the frame pipeline from ``SegmentationParams``: the classes, the network on
its device and backend (each chosen once, here), then the optional stages of
``stages.registry``. The node and ``bag-eval`` build through ``build_frame_pipeline``;
the few-shot services swap in a taught model with ``segmentation_for``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from ..checkpoint import (
    DEFAULT_CHECKPOINT,
    FEWSHOT_CHECKPOINT,
    CheckpointError,
    checkpoint_classes,
    int8_model_for,
    load_model,
)
from ..classes import CAMVID, ClassSet
from ..device import select_device
from ..inference.backends import BackendChoice, choose_backend
from ..inference.onnx_cache import file_sha256
from ..inference.segmentation_network import segmentation_network
from ..inference.segmentation_pipeline import SegmentationPipeline
from ..models import build_model
from .base import BuildContext
from .frame_pipeline import FramePipeline
from .registry import OPTIONAL_STAGES
from .segmentation_params import SegmentationParams

__all__ = ["build_frame_pipeline", "segmentation_for", "checkpoint_of", "node_classes"]

Log = Callable[[str], None]


def checkpoint_of(params: SegmentationParams) -> str:
    """``params.checkpoint``, else the bundled default: the few-shot base model when
    ``fewshot_support_dir`` is set (it needs cosine classifiers), else the CamVid one."""
    if params.checkpoint:
        return params.checkpoint
    return str(FEWSHOT_CHECKPOINT if params.fewshot_support_dir else DEFAULT_CHECKPOINT)


def node_classes(params: SegmentationParams) -> ClassSet:
    """The configured classes; the checkpoint's in few-shot mode (taught classes are not
    parameters), for an empty ``class_names`` or while ``class_names`` and ``palette``
    keep their defaults (so a checkpoint taught with ``imprint`` starts as it is);
    CamVid's for an untrained model."""
    classes = None if params.fewshot_support_dir else params.classes()
    if classes is not None and classes != CAMVID:
        return classes
    if params.checkpoint or params.model == "lraspp":
        return checkpoint_classes(checkpoint_of(params))
    return CAMVID


def build_frame_pipeline(
    params: SegmentationParams, log: Log = print, warn: Log = print
) -> tuple[FramePipeline, bool]:
    """The pipeline ``params`` ask for, and whether its network is trained. ``log`` and
    ``warn`` take the one-line notes and warnings of the build."""
    classes = node_classes(params)
    device = select_device(params.device)
    backend = choose_backend(params.inference_backend, device)
    context = BuildContext(classes, device, log, warn, backend)
    built = [(spec, spec.build(params, context)) for spec in OPTIONAL_STAGES]
    refiners = [stage for spec, stage in built if stage and spec.refines]
    stages = [stage for spec, stage in built if stage and not spec.refines]
    needs_probabilities = any("probabilities" in s.consumes for s in refiners + stages)
    segmentation, trained = _build_segmentation(params, context, needs_probabilities)
    return FramePipeline(segmentation, stages, params.overlay_alpha, refiners), trained


def _build_segmentation(
    params: SegmentationParams, context: BuildContext, probabilities: bool
) -> tuple[SegmentationPipeline, bool]:
    """The segmentation network of ``params`` on the context's device and backend (an
    untrained model stays on torch under ``auto``), and whether it is trained."""
    model, checkpoint = _load_network(params, context.classes, context.log)
    backend = context.backend
    if checkpoint is None and params.inference_backend == "auto":
        backend = BackendChoice("torch", "untrained model: nothing worth exporting")
    int8_model = int8_model_for(params.inference_precision, params.int8_model, checkpoint)
    precision = f"INT8 ({int8_model})" if int8_model else "FP32"
    context.log(f"inference backend {backend.name} ({backend.reason}), {precision}")
    source = file_sha256(checkpoint) if checkpoint else None
    segmentation = segmentation_for(
        model, context.classes, params, context.device, backend, source, int8_model, probabilities
    )
    return segmentation, checkpoint is not None


def _load_network(
    params: SegmentationParams, classes: ClassSet, log: Log
) -> tuple[nn.Module, Path | None]:
    """The node's network and its checkpoint: the configured (or bundled) one, or random
    weights (no checkpoint, not lraspp), said in the log."""
    if params.checkpoint or params.model == "lraspp":
        path = checkpoint_of(params)
        model, payload = load_model(path, expected_classes=classes)
        if payload["model_name"] != params.model:
            raise CheckpointError(
                f"checkpoint {path} holds a {payload['model_name']!r} model but parameter "
                f"model is {params.model!r}"
            )
        log(f"loaded checkpoint {path}")
        return model, Path(path)
    log(
        f"no checkpoint given for model {params.model!r}: running it UNTRAINED "
        "(random weights); set the 'checkpoint' parameter"
    )
    return build_model(params.model, classes.num_classes), None


def segmentation_for(
    model: nn.Module,
    classes: ClassSet,
    params: SegmentationParams,
    device: torch.device,
    backend: BackendChoice,
    source_sha256: str | None = None,
    int8_model: str | None = None,
    probabilities: bool = False,
) -> SegmentationPipeline:
    """``model`` (e.g. with taught classes) as the segmentation of ``params`` on
    ``device`` and ``backend``: input size, threads and confidence stride from
    ``params``. An ONNX export is keyed by ``source_sha256``, else by the weights' own
    digest."""
    size = (params.input_width, params.input_height)
    network = segmentation_network(
        model,
        size,
        backend,
        device,
        source_sha256,
        params.num_threads,
        int8_model,
        params.confidence_stride,
        probabilities,
    )
    return SegmentationPipeline(
        model, classes, size, device, params.confidence_stride, network, probabilities
    )
