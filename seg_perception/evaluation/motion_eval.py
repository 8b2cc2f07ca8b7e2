"""DAVIS 2016 scores of two-stream checkpoints, each sequence scored by a checkpoint that
was not trained on it (no ROS imports)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from ..data.davis import load_sequence
from ..latency_stats import LatencyStats
from ..motion.motion_pipeline import MotionPipeline, load_motion_model
from ..refine.dense_crf import CRFParams, DenseCRF
from .vos_metrics import boundary_f, region_j

__all__ = [
    "SequenceScore",
    "assign_checkpoints",
    "held_out_pipelines",
    "score_checkpoints",
    "score_sequence",
]

FRAME_RATE = 24.0  # DAVIS frames per second, for the stream's stamps


@dataclass(frozen=True)
class SequenceScore:
    """Means over a sequence's scored frames (all but the first and the last, as DAVIS)."""

    sequence: str
    checkpoint: str
    j_mean: float
    f_mean: float
    frames: int
    finetune_seconds: float | None = None  # self-training only


def assign_checkpoints(
    payloads: dict[str, dict[str, Any]], sequences: Sequence[str]
) -> dict[str, str]:
    """For each sequence, the one checkpoint whose training set excludes it.

    Raises:
        ValueError: a sequence every checkpoint was trained on, or held out by several.
    """
    chosen: dict[str, str] = {}
    for sequence in sequences:
        held_out = [
            p for p, payload in payloads.items() if sequence not in payload["train_sequences"]
        ]
        if not held_out:
            raise ValueError(f"every checkpoint was trained on {sequence}: no fair score")
        if len(held_out) > 1:
            raise ValueError(
                f"{sequence} is held out by several checkpoints: {', '.join(held_out)}"
            )
        chosen[sequence] = held_out[0]
    return chosen


def score_sequence(
    pipeline: MotionPipeline,
    data_root: str | os.PathLike,
    name: str,
    latency: LatencyStats,
    frame_limit: int | None = None,
) -> tuple[float, float, int]:
    """(J mean, F mean, frames scored) of one sequence at full resolution."""
    sequence = load_sequence(data_root, name)
    count = len(sequence) if frame_limit is None else min(len(sequence), frame_limit)
    pipeline.stream.reset()
    j_scores, f_scores = [], []
    for index in range(count):
        result = pipeline(sequence.frame(index), index / FRAME_RATE)
        if result.foreground is None:
            continue  # frame 0: no previous frame, no flow
        latency.record(result.timings_ms)
        if index == 0 or index == len(sequence) - 1:
            continue  # DAVIS scores neither the first nor the last frame
        truth = sequence.mask(index)
        j_scores.append(region_j(result.foreground, truth))
        f_scores.append(boundary_f(result.foreground, truth))
    if not j_scores:
        raise ValueError(f"{name}: no frame could be scored (frame_limit {frame_limit})")
    return float(np.mean(j_scores)), float(np.mean(f_scores)), len(j_scores)


def held_out_pipelines(
    checkpoints: Sequence[str | os.PathLike],
    sequences: Sequence[str],
    device: str = "auto",
    crf: CRFParams | None = None,
) -> tuple[dict[str, MotionPipeline], dict[str, str]]:
    """A ``MotionPipeline`` per checkpoint, and for each sequence the checkpoint that held
    it out; ``crf``: a dense CRF on each mask, else none."""
    loaded = {str(path): load_motion_model(path, require_flow=False) for path in checkpoints}
    for path, (_, payload) in loaded.items():
        if "train_sequences" not in payload:
            raise ValueError(f"{path} is not a motion checkpoint (no train_sequences)")
    chosen = assign_checkpoints({p: payload for p, (_, payload) in loaded.items()}, sequences)
    dense_crf = DenseCRF(crf) if crf is not None else None  # CRFUnavailable without pydensecrf2
    pipelines = {
        path: MotionPipeline.from_loaded(model, payload, device=device, crf=dense_crf)
        for path, (model, payload) in loaded.items()
    }
    return pipelines, chosen


def score_checkpoints(
    checkpoints: Sequence[str | os.PathLike],
    data_root: str | os.PathLike,
    sequences: Sequence[str],
    device: str = "auto",
    frame_limit: int | None = None,
    crf: CRFParams | None = None,
) -> tuple[list[SequenceScore], LatencyStats]:
    """Score ``sequences``, each with the checkpoint that held it out; ``crf``: a dense
    CRF on each mask (``MotionPipeline``'s), else none."""
    pipelines, chosen = held_out_pipelines(checkpoints, sequences, device, crf)
    latency = LatencyStats(window=100_000)
    scores = []
    for name in tqdm(sequences, desc="eval-motion"):
        path = chosen[name]
        j, f, frames = score_sequence(pipelines[path], data_root, name, latency, frame_limit)
        scores.append(SequenceScore(name, Path(path).name, j, f, frames))
    return scores, latency
