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
from typing import Any

import numpy as np

from ..classes import ClassSet
from ..image_codec import ImageDecodeError
from ..inference.segmentation_pipeline import SegmentationPipeline
from ..latency_stats import LatencyStats
from .base import Frame, Output, Stage
from .segment import OverlayStage, SegmentStage

__all__ = ["FramePipeline", "FrameOutcome", "FrameRejected", "plan_stages", "ALWAYS_WANTED"]

Sink = Callable[[Frame, list[tuple[Output, Any]]], None]
ALWAYS_WANTED = frozenset({"labels"})  # the product: computed and published subscribed or not
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
        self.stage_runs = {stage.name: 0 for stage in self.stages[1:]}  # lazy ones ran
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
        """Frame counts, how many processed frames ran each stage after the segmentation
        (``stage_runs (overlay)``: lazy stages run only for subscribers), and each stage's
        own counters (e.g. flow restarts)."""
        with self._lock:
            values = dict(self.counts)
            values.update({f"stage_runs ({name})": n for name, n in self.stage_runs.items()})
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
        wanted: frozenset[str] | None = None,
    ) -> FrameOutcome:
        """Decode, run the stages, hand the outputs to ``sink``; never raises for a frame.

        ``wanted``: the output keys someone takes (the node's subscribed topics); only the
        stages those need run, and only their outputs reach ``sink`` (``labels`` always:
        it is the product). None (``bag-eval``): every stage and output.

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
        stages = self.stages  # one consistent set even if replace_segmentation runs now
        running, needed = plan_stages(stages, wanted)
        frame = Frame(rgb, stamp, frame_id, needed=needed)
        timings = frame.timings_ms
        timings["decode"] = 1e3 * (time.perf_counter() - started)
        timings.update({stage.name: 0.0 for stage in stages})  # a skipped stage costs 0
        try:
            for stage in running:
                stage_start = time.perf_counter()
                frame.data.update(stage(frame))
                timings[stage.name] = 1e3 * (time.perf_counter() - stage_start)
            sink_start = time.perf_counter()
            if sink is not None:
                outputs = self.frame_outputs(frame, running)
                if wanted is not None:
                    outputs = [(o, v) for o, v in outputs if o.key in wanted | ALWAYS_WANTED]
                sink(frame, outputs)
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
            for stage in running[1:]:
                self.stage_runs[stage.name] = self.stage_runs.get(stage.name, 0) + 1
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


def plan_stages(
    stages: Sequence[Stage], wanted: frozenset[str] | None
) -> tuple[list[Stage], frozenset[str] | None]:
    """The stages a frame runs for the ``wanted`` output keys, and the data keys it needs
    (None, None: all of them). Walks back from the last stage: a stage runs when it has
    no outputs, is ``eager``, is the segmentation, or produces a needed key; what it
    consumes is then needed too."""
    if wanted is None:
        return list(stages), None
    needed = set(wanted | ALWAYS_WANTED)
    running = []
    for stage in reversed(stages):
        if (
            not stage.outputs
            or getattr(stage, "eager", False)
            or isinstance(stage, SegmentStage)
            or needed & set(stage.produces)
        ):
            running.append(stage)
            needed |= set(stage.consumes)
    return running[::-1], frozenset(needed)
