"""What happens to a frame: decode -> segment -> refiners -> overlay -> stages -> outputs.

``FramePipeline`` is shared by the node and ``bag-eval`` (no ROS imports). It owns the
order of the stages, their timing (one ``timings_ms`` entry per stage, plus the
sub-timings stages add) and the counting of frames that were rejected (undecodable)
or failed (a stage raised). The caller supplies the decoder and the sink that
publishes or writes the outputs.

Timing keys: ``decode``; ``segment`` (with its ``preprocess``, ``inference``,
``postprocess``); ``overlay``; each optional stage's name (``crf``, ``motion_total``,
``instances_total``) and its sub-timings; ``publish`` (the sink); ``total`` (all of
it); ``segmentation_total`` (decode, segment and overlay); ``non_inference`` (``total``
less the network forward and the optional stages).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .checkpoint import (
    DEFAULT_CHECKPOINT,
    FEWSHOT_CHECKPOINT,
    CheckpointError,
    checkpoint_classes,
    int8_model_for,
    load_model,
)
from .classes import CAMVID, ClassSet
from .device import select_device
from .image_codec import ImageDecodeError
from .inference.backends import BackendChoice, choose_backend
from .inference.onnx_cache import file_sha256
from .inference.segmentation_network import segmentation_network
from .latency_stats import LatencyStats
from .models import build_model
from .pipeline import SegmentationPipeline
from .stages.base import BuildContext, Frame, Output, Stage
from .stages.registry import OPTIONAL_STAGES
from .stages.segment import OverlayStage, SegmentStage

__all__ = [
    "FramePipeline",
    "FrameOutcome",
    "FrameRejected",
    "build_frame_pipeline",
    "segmentation_for",
]

Sink = Callable[[Frame, list[tuple[Output, Any]]], None]
_SEGMENTATION_PART = ("decode", "segment", "overlay")


class FrameRejected(ValueError):
    """The frame cannot be decoded (the decoder's error, as one line)."""


@dataclass
class FrameOutcome:
    """How one frame went: ``processed``, ``rejected`` or ``failed`` (with the reason)."""

    status: str
    frame: Frame | None = None
    reason: str = ""


class FramePipeline:
    """Segmentation, overlay and the optional stages, run in order on each frame.

    Args:
        segmentation: the network pipeline (its classes and device are the frame's).
        stages: optional stages, run after the overlay in this order.
        overlay_alpha: initial colour weight of the overlay.
        refiners: optional stages that rewrite the segmentation (e.g. the CRF), run in
            this order between segmentation and the overlay.
    """

    def __init__(
        self,
        segmentation: SegmentationPipeline,
        stages: Sequence[Stage] = (),
        overlay_alpha: float = 0.5,
        refiners: Sequence[Stage] = (),
    ):
        self.segmentation = segmentation
        self.overlay = OverlayStage(segmentation, overlay_alpha)
        self.refiners, self.after_overlay = list(refiners), list(stages)
        self.optional = [*refiners, *stages]
        self.stages: list[Stage] = [
            SegmentStage(segmentation),
            *refiners,
            self.overlay,
            *stages,
        ]
        self.stats = LatencyStats()
        self.counts = {"processed": 0, "rejected": 0, "failed": 0}
        self.last_problem = ""
        self.last_problem_at = -float("inf")
        self._lock = threading.Lock()
        self._check_order()

    def _check_order(self) -> None:
        available: set[str] = set()
        for stage in self.stages:
            missing = set(stage.consumes) - available
            if missing:
                raise ValueError(f"stage {stage.name} needs {sorted(missing)} before it")
            available |= set(stage.produces)

    def replace_segmentation(self, segmentation: SegmentationPipeline) -> None:
        """Segment with ``segmentation`` (e.g. with taught classes) from the next frame on;
        a frame already running finishes with the stages it started with."""
        overlay = OverlayStage(segmentation, self.overlay.alpha)
        stages = [SegmentStage(segmentation), *self.refiners, overlay, *self.after_overlay]
        self.segmentation, self.overlay, self.stages = segmentation, overlay, stages

    def close(self) -> None:
        """End the stages' background work (those with a ``close``), e.g. queued saves."""
        for stage in self.optional:
            close = getattr(stage, "close", None)
            if close is not None:
                close()

    @property
    def classes(self) -> ClassSet:
        return self.segmentation.classes

    @property
    def device(self):
        return self.segmentation.device

    def outputs(self) -> list[Output]:
        """Every output the stages can produce, in order (what the node publishes)."""
        return [output for stage in self.stages for output in stage.outputs]

    def stage(self, name: str) -> Stage | None:
        """The stage called ``name`` (e.g. ``instances_total``), or None."""
        return next((s for s in self.stages if s.name == name), None)

    def counters(self) -> dict[str, int]:
        """Frame counts plus each stage's own counters (e.g. flow restarts)."""
        with self._lock:
            values = dict(self.counts)
        for stage in self.optional:
            extra = getattr(stage, "counters", None)
            if extra is not None:
                values.update(extra())
        return values

    def stage_values(self) -> dict[str, str]:
        """Each optional stage's own diagnostics values (e.g. the VOS target's state)."""
        values: dict[str, str] = {}
        for stage in self.optional:
            extra = getattr(stage, "values", None)
            if extra is not None:
                values.update(extra())
        return values

    def latency(self) -> tuple[float, dict[str, dict[str, float]]]:
        """Output fps and per-timing-key latency summary (mean, p50, p90, p99)."""
        with self._lock:
            return self.stats.fps(), self.stats.summary()

    def run(
        self,
        decode: Callable[[], np.ndarray],
        stamp: tuple[int, int] = (0, 0),
        frame_id: str = "",
        sink: Sink | None = None,
        rejects: tuple[type[BaseException], ...] = (ImageDecodeError, FrameRejected),
        fatal: tuple[type[BaseException], ...] = (),
    ) -> FrameOutcome:
        """Decode, run every stage, hand the outputs to ``sink``; never raises for a frame.

        A decode error of the ``rejects`` types rejects the frame; any other exception (of
        the decoder, a native library, a stage or the sink) fails it. Either way the frame
        is counted, remembered as the last problem, and the next frame is served. Exceptions of the
        ``fatal`` types are the caller's to handle (e.g. a whole bag of an unsupported
        encoding) and are re-raised.
        """
        started = time.perf_counter()
        try:
            rgb = decode()
        except fatal:
            raise
        except rejects as exc:
            return self._problem("rejected", str(exc))
        except Exception as exc:  # e.g. cv2.error from a native decoder
            return self._problem("failed", f"decode: {exc.__class__.__name__}: {exc}")
        frame = Frame(rgb, stamp, frame_id)
        timings = frame.timings_ms
        timings["decode"] = 1e3 * (time.perf_counter() - started)
        stages = self.stages  # one consistent set even if replace_segmentation runs now
        try:
            for stage in stages:
                stage_start = time.perf_counter()
                frame.data.update(stage(frame))
                timings[stage.name] = 1e3 * (time.perf_counter() - stage_start)
            sink_start = time.perf_counter()
            if sink is not None:
                sink(frame, self.frame_outputs(frame, stages))
            timings["publish"] = 1e3 * (time.perf_counter() - sink_start)
        except fatal:
            raise
        except Exception as exc:  # one bad frame must not stop the stream
            return self._problem("failed", f"{exc.__class__.__name__}: {exc}")
        timings["total"] = 1e3 * (time.perf_counter() - started)
        timings["segmentation_total"] = sum(timings[k] for k in _SEGMENTATION_PART)
        optional = sum(timings[s.name] for s in self.optional)
        timings["non_inference"] = timings["total"] - timings["inference"] - optional
        with self._lock:
            self.counts["processed"] += 1
            self.stats.record(timings)
        return FrameOutcome("processed", frame)

    def frame_outputs(
        self, frame: Frame, stages: Sequence[Stage] | None = None
    ) -> list[tuple[Output, Any]]:
        """The outputs this frame has (a stage may have had nothing to say)."""
        outputs = [out for stage in stages or self.stages for out in stage.outputs]
        return [(out, frame.data[out.key]) for out in outputs if out.key in frame.data]

    def _problem(self, status: str, reason: str) -> FrameOutcome:
        with self._lock:
            self.counts[status] += 1
            self.last_problem, self.last_problem_at = reason, time.monotonic()
        return FrameOutcome(status, reason=reason)


def checkpoint_of(params: Any) -> str:
    """``params.checkpoint``, else the bundled default: the few-shot base model when
    ``fewshot_support_dir`` is set (it needs cosine classifiers), else the CamVid one."""
    if params.checkpoint:
        return params.checkpoint
    return str(FEWSHOT_CHECKPOINT if params.fewshot_support_dir else DEFAULT_CHECKPOINT)


def node_classes(params: Any) -> ClassSet:
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


def load_segmentation(params: Any, classes: ClassSet, log: Callable[[str], None]):
    """The node's network: its checkpoint, or (no checkpoint, not lraspp) random weights.

    Returns ``(model, checkpoint path or None)``.
    """
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


def build_segmentation(
    params: Any, classes: ClassSet, log: Callable[[str], None], probabilities: bool = False
) -> tuple[SegmentationPipeline, bool]:
    """The segmentation pipeline of ``params`` on the backend they ask for (logged with
    the reason), and whether its network is trained. ``probabilities``: it also returns
    the softmax (a refining stage needs it)."""
    model, checkpoint = load_segmentation(params, classes, log)
    choice = choose_backend(params.inference_backend, select_device(params.device))
    if checkpoint is None and params.inference_backend == "auto":
        choice = BackendChoice("torch", "untrained model: nothing worth exporting")
    int8_model = int8_model_for(params.inference_precision, params.int8_model, checkpoint)
    precision = f"INT8 ({int8_model})" if int8_model else "FP32"
    log(f"inference backend {choice.name} ({choice.reason}), {precision}")
    source = file_sha256(checkpoint) if checkpoint else None
    pipeline = segmentation_for(model, classes, params, choice, source, int8_model, probabilities)
    return pipeline, checkpoint is not None


def segmentation_for(
    model: Any,
    classes: ClassSet,
    params: Any,
    choice: BackendChoice | None = None,
    source_sha256: str | None = None,
    int8_model: Any = None,
    probabilities: bool = False,
) -> SegmentationPipeline:
    """``model`` (e.g. with taught classes) as the segmentation of ``params``: its
    backend (default: the one ``params`` ask for), input size and confidence stride.
    An ONNX export is keyed by ``source_sha256``, else by the weights' own digest."""
    device = select_device(params.device)
    choice = choice or choose_backend(params.inference_backend, device)
    size = (params.input_width, params.input_height)
    network = segmentation_network(
        model,
        size,
        choice,
        device,
        source_sha256,
        params.num_threads,
        int8_model,
        params.confidence_stride,
        probabilities,
    )
    return SegmentationPipeline(
        model, classes, size, params.device, params.confidence_stride, network, probabilities
    )


def build_frame_pipeline(
    params: Any, log: Callable[[str], None] = print, warn: Callable[[str], None] = print
) -> tuple[FramePipeline, bool]:
    """The pipeline ``params`` (``SegmentationParams``) ask for, and whether its network
    is trained. Optional stages come from ``stages.registry``; ``log`` and ``warn`` take
    their one-line notes and warnings."""
    classes = node_classes(params)
    context = BuildContext(classes, params.device, log, warn)
    built = [(spec, spec.build(params, context)) for spec in OPTIONAL_STAGES]
    refiners = [stage for spec, stage in built if stage and spec.refines]
    stages = [stage for spec, stage in built if stage and not spec.refines]
    needs_probabilities = any("probabilities" in s.consumes for s in refiners + stages)
    segmentation, trained = build_segmentation(params, classes, log, needs_probabilities)
    pipeline = FramePipeline(segmentation, stages, params.overlay_alpha, refiners)
    return pipeline, trained
