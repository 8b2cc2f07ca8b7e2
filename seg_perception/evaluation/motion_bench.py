"""Timing of flow methods and of the motion pipeline (no ROS imports)."""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence

import cv2
import numpy as np
import torch

from ..checkpoint import MOBILENET_CHECKPOINT, load_checkpoint
from ..classes import CAMVID
from ..models import TWO_STREAM, build_model
from ..motion import DIS_PRESETS, FlowEstimator
from ..motion.flow import to_gray
from ..motion.motion_pipeline import MotionPipeline

__all__ = ["time_flow_methods", "time_motion_pipeline"]


def time_flow_methods(frames: Sequence[np.ndarray], size: tuple[int, int]) -> dict[str, float]:
    """Median ms per flow call between consecutive frames resized to ``size``."""
    gray = [to_gray(cv2.resize(f, size, interpolation=cv2.INTER_AREA)) for f in frames]
    methods = {f"dis/{preset}": FlowEstimator("dis", preset) for preset in DIS_PRESETS}
    methods["farneback"] = FlowEstimator("farneback")
    medians = {}
    for name, estimator in methods.items():
        estimator(gray[0], gray[1])  # warm-up
        times = []
        for previous, current in itertools.pairwise(gray):
            start = time.perf_counter()
            estimator(previous, current)
            times.append(1e3 * (time.perf_counter() - start))
        medians[name] = float(np.median(times))
    return medians


def time_motion_pipeline(
    frames: Sequence[np.ndarray], size: tuple[int, int], use_flow: bool
) -> dict[str, float]:
    """Median ms per stage of ``MotionPipeline`` with the network at ``size``.

    The appearance stream holds the bundled CamVid weights (trained activations; random
    weights can make a CPU slow down on denormal numbers), the rest is as built.
    """
    model = build_model(TWO_STREAM, CAMVID.num_classes, use_flow=use_flow)
    model.load_appearance_from(load_checkpoint(MOBILENET_CHECKPOINT)["state_dict"])
    resized = [cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in frames]
    pipeline = MotionPipeline(model, size, FlowEstimator(), max_gap_s=1.0, device="cpu")
    stages: dict[str, list[float]] = {}
    with torch.inference_mode():
        for index, frame in enumerate(resized):
            start = time.perf_counter()
            result = pipeline(frame, index / 24.0)
            total = 1e3 * (time.perf_counter() - start)
            if result.foreground is None or index < 2:
                continue  # the stream's first frame, and one warm-up frame
            for stage, value in {**result.timings_ms, "total": total}.items():
                stages.setdefault(stage, []).append(value)
    return {stage: float(np.median(values)) for stage, values in stages.items()}
