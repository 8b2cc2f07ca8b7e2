"""Moving-object masks from a two-stream model: the pipeline ``eval-motion`` and the node
share. Frame -> resize to the network size -> flow from the previous frame (per-stream
state, reset on stamp jumps) -> network -> (optional dense CRF) -> foreground mask at the
frame's size. No ROS."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
import torch

from ..checkpoint import CheckpointError, load_model
from ..classes import ClassSet
from ..device import select_device
from ..inference.backends import CompiledNetwork
from ..models import TWO_STREAM, TwoStreamSegmenter
from ..models.normalization import normalize_image
from ..refine.dense_crf import DenseCRF
from . import FlowEstimator, FlowStream, flow_to_network_input, flow_to_rgb

__all__ = [
    "MotionPipeline",
    "MotionResult",
    "crf_object_logits",
    "load_motion_model",
    "motion_outputs",
    "probability_logits",
    "sigmoid",
]


@dataclass
class MotionResult:
    """One frame's motion outputs; ``None`` after a stream reset (no previous frame)."""

    foreground: np.ndarray | None  # (H, W) bool: the moving object, at the frame's size
    flow: np.ndarray | None  # (h, w, 2) pixels at the network size
    timings_ms: dict[str, float] = field(default_factory=dict)
    logits: np.ndarray | None = None  # (h, w) object logits at the network size (after the CRF)


def load_motion_model(
    path: str | os.PathLike,
    expected_classes: ClassSet | None = None,
    require_flow: bool = True,
) -> tuple[TwoStreamSegmenter, dict[str, Any]]:
    """A two-stream checkpoint's model and payload (which holds its input size and flow).

    Raises:
        CheckpointError: not a two-stream motion checkpoint, or (``require_flow``) one
            built without the motion stream; and whatever ``load_model`` raises.
    """
    model, payload = load_model(path, expected_classes)
    if payload["model_name"] != TWO_STREAM or not {"input_size", "flow"} <= set(payload):
        raise CheckpointError(f"{path} is not a two-stream model (with input_size and flow)")
    if require_flow and not model.use_flow:
        raise CheckpointError(f"{path} is a two-stream model without the motion stream")
    return model, payload


class MotionPipeline:
    """Runs a ``TwoStreamSegmenter`` frame by frame on one camera's stream.

    Args:
        model: the two-stream model (``use_flow`` true or false).
        input_size: network (width, height); flow is computed at this size too.
        estimator: the flow method.
        max_gap_s: a longer gap between stamps resets the flow stream.
        device: ``auto``, ``cpu`` or ``cuda[:N]``.
        network: the model compiled for a backend (outputs ``foreground``, inputs image
            and flow); None runs it in torch.
        crf: a dense CRF over (background, object) and the frame at the network size,
            run on the object probability before it is thresholded; None: none.
    """

    def __init__(
        self,
        model: TwoStreamSegmenter,
        input_size: tuple[int, int],
        estimator: FlowEstimator,
        max_gap_s: float = 0.5,
        device: str = "auto",
        network: CompiledNetwork | None = None,
        crf: DenseCRF | None = None,
    ):
        self.device = select_device(device)
        self.crf = crf
        self.model = model.eval().to(self.device)
        self.network = network
        self.input_size = tuple(input_size)
        self.stream = FlowStream(estimator, max_gap_s)

    @classmethod
    def from_loaded(
        cls,
        model: TwoStreamSegmenter,
        payload: dict[str, Any],
        *,
        flow_method: str | None = None,
        flow_preset: str | None = None,
        max_gap_s: float = 0.5,
        device: str = "auto",
        network: CompiledNetwork | None = None,
        crf: DenseCRF | None = None,
    ) -> MotionPipeline:
        """The pipeline of ``load_motion_model``'s result, at the checkpoint's input size;
        flow as the checkpoint was trained on unless ``flow_method``/``flow_preset``."""
        trained = payload["flow"]
        estimator = FlowEstimator(
            flow_method or trained["method"], flow_preset or trained["preset"]
        )
        return cls(model, tuple(payload["input_size"]), estimator, max_gap_s, device, network, crf)

    @torch.inference_mode()
    def __call__(self, rgb: np.ndarray, stamp_s: float) -> MotionResult:
        timings: dict[str, float] = {}
        start = time.perf_counter()
        small = cv2.resize(rgb, self.input_size, interpolation=cv2.INTER_AREA)
        flow = None
        if self.model.use_flow:  # the single-stream model costs no flow at all
            flow = self.stream.push(small, stamp_s)
            timings["flow"] = 1e3 * (time.perf_counter() - start)
            if flow is None:
                return MotionResult(None, None, timings)
        start = time.perf_counter()
        image = normalize_image(small)[None].to(self.device)
        flow_input = None
        if flow is not None:
            flow_input = torch.from_numpy(flow_to_network_input(flow))[None].to(self.device)
        if self.network is not None and flow_input is not None:
            logits = self.network(image, flow_input)["foreground"][0, 0]
        else:
            logits = self.model(image, flow_input)["foreground"][0, 0]
        logits = logits.float().cpu().numpy()  # waits for the device: part of inference
        timings["inference"] = 1e3 * (time.perf_counter() - start)
        if self.crf is not None:
            start = time.perf_counter()
            logits = crf_object_logits(self.crf, logits, small)
            timings["crf"] = 1e3 * (time.perf_counter() - start)
        start = time.perf_counter()
        height, width = rgb.shape[:2]
        full = cv2.resize(logits, (width, height), interpolation=cv2.INTER_LINEAR)
        timings["postprocess"] = 1e3 * (time.perf_counter() - start)
        return MotionResult(full > 0, flow, timings, logits)


def crf_object_logits(crf: DenseCRF, logits: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    """Object ``logits`` (h, w) refined by ``crf`` over (background, object) and the
    (h, w, 3) ``rgb`` they were computed on, back as logits (0 where the marginal is one
    half), so the same upsampling and threshold follow with or without the CRF."""
    return probability_logits(crf.object_probability(sigmoid(logits), rgb))


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """Object probability of logits (float32)."""
    return (1.0 / (1.0 + np.exp(-np.clip(logits, -30.0, 30.0)))).astype(np.float32)


def probability_logits(probability: np.ndarray) -> np.ndarray:
    """Logits of an object probability, clipped to 1e-6 from 0 and 1 (float32)."""
    p = np.clip(probability, 1e-6, 1.0 - 1e-6)
    return np.log(p / (1.0 - p)).astype(np.float32)


def motion_outputs(
    result: MotionResult, shape: tuple[int, int]
) -> list[tuple[str, np.ndarray, str]]:
    """``(output name, pixels, encoding)`` of a frame's motion outputs at the frame's
    ``(height, width)``: ``motion`` mono8 (255 moving, 0 static) and ``flow`` rgb8."""
    if result.foreground is None or result.flow is None:
        raise ValueError("no motion outputs for a frame that restarted the flow stream")
    height, width = shape
    picture = cv2.resize(flow_to_rgb(result.flow), (width, height), interpolation=cv2.INTER_LINEAR)
    mask = result.foreground.view(np.uint8) * np.uint8(255)
    return [("motion", mask, "mono8"), ("flow", picture, "rgb8")]
