"""What a per-frame stage is: the frame it reads, the outputs it declares (no ROS).

A stage is a small callable with one job. It reads the camera frame and arrays earlier
stages produced (``consumes``), and returns the arrays it produces (``produces``); those
named in ``outputs`` are published by the node and written by ``bag-eval``, under
``~/<topic>``. The pipeline (``stages.frame_pipeline.FramePipeline``) orders, times and
error-counts stages; a stage never times itself (it may add finer sub-timings to
``frame.timings_ms``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import torch

from ..classes import ClassSet
from ..inference.backends import BackendChoice
from ..parameters import ParamSpec

__all__ = ["Frame", "Output", "Stage", "StageSpec", "BuildContext", "JSON"]

CPU = torch.device("cpu")
TORCH = BackendChoice("torch", "default")
JSON = "json"  # an output that is a JSON document (std_msgs/String), not an image


@dataclass
class Frame:
    """One camera frame on its way through the pipeline.

    Attributes:
        rgb: (H, W, 3) uint8 RGB, as decoded.
        stamp: (sec, nanosec) of the input header.
        frame_id: the input header's frame.
        data: arrays produced so far, by name (``labels``, ``confidence``, ...).
        timings_ms: sub-timings stages add (the pipeline adds one per stage).
        needed: the data keys someone uses this frame (a subscribed output or what a
            running stage consumes); None: all of them. A stage may skip work for a key
            that is not needed (the segment stage skips the confidence map).
    """

    rgb: np.ndarray
    stamp: tuple[int, int] = (0, 0)
    frame_id: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    timings_ms: dict[str, float] = field(default_factory=dict)
    needed: frozenset[str] | None = None

    def needs(self, key: str) -> bool:
        return self.needed is None or key in self.needed

    @property
    def stamp_s(self) -> float:
        return self.stamp[0] + 1e-9 * self.stamp[1]


@dataclass(frozen=True)
class Output:
    """A produced array that leaves the pipeline: ``data[key]`` on ``~/<topic>``.

    ``encoding`` is a ``sensor_msgs/Image`` encoding (mono8, mono16, rgb8, 32FC1) or
    ``JSON`` for a ``std_msgs/String`` document.
    """

    key: str
    topic: str
    encoding: str


class Stage(Protocol):
    """A per-frame step. ``name`` is its timing key (``latency_<name>_*`` in diagnostics).

    Stages are lazy: a frame runs a stage only when one of its ``outputs`` is wanted
    (subscribed) or a running stage consumes what it produces. A stage with no outputs
    (it writes files, or rewrites the segmentation) always runs, and so does one whose
    ``eager`` attribute is True (it keeps state from every frame, e.g. VOS's frame
    buffer). A stage with background threads also has ``close()``, which the pipeline
    calls when the node cleans up: it finishes or drops their work and ends them.
    """

    name: str
    consumes: tuple[str, ...]
    produces: tuple[str, ...]
    outputs: tuple[Output, ...]

    def __call__(self, frame: Frame) -> dict[str, Any]:
        """The produced arrays by name; a key may be missing for a frame (nothing to say)."""
        ...


@dataclass(frozen=True)
class BuildContext:
    """What building a stage may use besides its parameters."""

    classes: ClassSet
    device: torch.device = CPU  # chosen once for every network
    log: Callable[[str], None] = print  # one-line notes (the node routes them to its logger)
    warn: Callable[[str], None] = print  # one-line warnings (the node's logger at WARN)
    backend: BackendChoice = TORCH  # the requested backend, resolved once


@dataclass(frozen=True)
class StageSpec:
    """An optional stage as the node and ``bag-eval`` see it.

    Args:
        name: the stage's name.
        params: the node parameters it reads (declared by the node from this list).
        build: ``build(params, context)`` -> the stage, or None when its parameters leave
            it off (then it costs nothing).
        validate: checks across its parameters (raise ``ParameterError``); each value's
            own range is in ``params``. Its classes are None when ``class_names`` is
            empty (the checkpoint's classes, known once it is loaded).
        refines: the stage rewrites the segmentation (``labels``, ``confidence``), so it
            runs right after it, before the overlay and the other optional stages.
        offline: ``bag-eval`` can run it (its parameters become options there); False
            for a stage that needs live topics (the VOS target mask sent to the node).
    """

    name: str
    params: tuple[ParamSpec, ...]
    build: Callable[[Any, BuildContext], Stage | None]
    validate: Callable[[Any, ClassSet | None], None] | None = None
    refines: bool = False
    offline: bool = True
