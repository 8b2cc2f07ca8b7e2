"""OSVOS / OnAVOS on DAVIS 2016: each sequence starts from its first frame's true mask
and is run by the parent that never saw it (no ROS imports)."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from ..data.davis import load_sequence
from ..vos.foreground_net import load_vos_parent, upsample_probability
from ..vos.online import OnlineParams, VideoObjectSegmenter
from .motion_eval import assign_checkpoints
from .vos_metrics import boundary_f, region_j

__all__ = ["VOSSequenceResult", "run_sequence", "evaluate_vos"]


@dataclass(frozen=True)
class VOSSequenceResult:
    """Scores and cost of one sequence; ``shown`` holds (frame, RGB, mask) for a figure."""

    sequence: str
    parent: str
    j_mean: float
    f_mean: float
    frames: int
    finetune_seconds: float
    ms_per_frame: float
    adaptations: int
    shown: tuple[tuple[int, np.ndarray, np.ndarray], ...] = ()


def _shown_frames(count: int, show: int) -> set[int]:
    return {round(k * (count - 1) / (show - 1)) for k in range(show)} if show > 1 else set()


def run_sequence(
    parent: nn.Module,
    parent_name: str,
    params: OnlineParams,
    data_root: str | os.PathLike,
    name: str,
    device: str | torch.device = "cpu",
    frame_limit: int | None = None,
    show: int = 0,
) -> VOSSequenceResult:
    """Fine-tune on frame 0's true mask, segment frames 1.., score all but the first and
    the last frame (DAVIS) at full resolution."""
    sequence = load_sequence(data_root, name)
    count = len(sequence) if frame_limit is None else min(len(sequence), frame_limit)
    if count < 3:
        raise ValueError(f"{name}: at least 3 frames are needed, {count} given")
    shown_at = _shown_frames(count, show)
    first_rgb, first_mask = sequence.frame(0), sequence.mask(0)
    segmenter = VideoObjectSegmenter(parent, params, device)
    finetune_seconds = segmenter.init(first_rgb, first_mask)
    shown = [(0, first_rgb, first_mask)] if 0 in shown_at else []
    j_scores, f_scores, seconds = [], [], 0.0
    for index in range(1, count):
        rgb = sequence.frame(index)
        started = time.perf_counter()
        probability = segmenter.segment(rgb)
        seconds += time.perf_counter() - started
        mask = upsample_probability(probability, rgb.shape[:2]) > params.threshold
        if index in shown_at:
            shown.append((index, rgb, mask))
        if index == len(sequence) - 1:
            continue  # DAVIS scores neither the first nor the last frame
        truth = sequence.mask(index)
        j_scores.append(region_j(mask, truth))
        f_scores.append(boundary_f(mask, truth))
    return VOSSequenceResult(
        name,
        parent_name,
        float(np.mean(j_scores)),
        float(np.mean(f_scores)),
        len(j_scores),
        finetune_seconds,
        1000 * seconds / (count - 1),
        segmenter.adaptations,
        tuple(shown),
    )


def evaluate_vos(
    parents: Sequence[str | os.PathLike],
    data_root: str | os.PathLike,
    sequences: Sequence[str],
    params: OnlineParams,
    device: str | torch.device = "cpu",
    frame_limit: int | None = None,
    show_sequences: Sequence[str] = (),
    show_frames: int = 4,
) -> list[VOSSequenceResult]:
    """Run and score ``sequences``, each with the parent whose fold excludes it."""
    loaded = {str(path): load_vos_parent(path) for path in parents}
    chosen = assign_checkpoints({p: payload for p, (_, payload) in loaded.items()}, sequences)
    results = []
    for name in tqdm(sequences, desc="eval-vos"):
        path = chosen[name]
        results.append(
            run_sequence(
                loaded[path][0],
                f"{Path(path).name} (fold {loaded[path][1].get('fold', '?')})",
                params,
                data_root,
                name,
                device,
                frame_limit,
                show_frames if name in show_sequences else 0,
            )
        )
    return results
