"""Unsupervised self-training on the motion masks, scored on DAVIS 2016 (no ROS).

Per sequence, offline (the whole sequence is seen before any mask is final): the motion
model (without a CRF) segments every frame; every ``every``-th frame's confident pixels
(after the dense CRF when on) become pseudo-labels (``pseudo_labels``); a copy of the
VOS parent that never saw the sequence is fine-tuned on them as OSVOS is on a first
mask; each frame's mask is then the threshold of the fused probability (motion and
fine-tuned parent), refined by the CRF when on. No true mask of the sequence is used.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from ..data.davis import load_sequence
from ..latency_stats import LatencyStats
from ..motion.motion_pipeline import MotionPipeline, probability_logits, sigmoid
from ..refine.dense_crf import CRFParams, DenseCRF
from ..vos.foreground_net import load_vos_parent, upsample_probability
from ..vos.online import OnlineParams, VideoObjectSegmenter
from ..vos.pseudo_labels import pseudo_labels
from .motion_eval import FRAME_RATE, SequenceScore, assign_checkpoints, held_out_pipelines
from .vos_metrics import boundary_f, region_j

__all__ = ["SelfTrainingParams", "score_self_trained", "score_self_trained_sequence"]


@dataclass(frozen=True)
class SelfTrainingParams:
    """Which motion pixels teach the parent, and how its output is fused with them.

    Fixed before any evaluation (not tuned on DAVIS): every 3rd frame, probabilities
    beyond 0.9 / 0.1, 4 px left unlabelled on each side of the mask's edge, equal
    weights. The fine-tuning itself is OSVOS's (``config/vos/osvos.yaml``, chosen on
    the VOS development split), without its own CRF or online adaptation, at the motion
    model's input size.
    """

    every: int = 3
    positive_threshold: float = 0.9
    negative_threshold: float = 0.1
    margin: int = 4  # pixels at the network size
    parent_weight: float = 0.5  # of the fine-tuned parent's probability in the fusion

    def __post_init__(self) -> None:
        checks = {
            "every": self.every >= 1,
            "thresholds": 0 < self.negative_threshold <= 0.5 <= self.positive_threshold < 1,
            "margin": self.margin >= 0,
            "parent_weight": 0 <= self.parent_weight <= 1,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise ValueError(f"invalid self-training parameter(s): {', '.join(bad)}")

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def score_self_trained_sequence(
    pipeline: MotionPipeline,
    parent: nn.Module,
    tuning: OnlineParams,
    params: SelfTrainingParams,
    crf: DenseCRF | None,
    data_root: str | os.PathLike,
    name: str,
    latency: LatencyStats,
    frame_limit: int | None = None,
    device: str | torch.device = "cpu",
) -> tuple[float, float, int, float]:
    """(J mean, F mean, frames scored, fine-tuning seconds) of one sequence.

    ``pipeline`` runs without a CRF (its raw probability is fused); ``crf`` refines the
    pseudo-labelled frames and the fused masks. ``tuning``'s fine-tuning runs at the
    motion model's input size, without its own CRF or online adaptation. A sequence whose
    motion masks hold no confident object pixel keeps them (fine-tuning 0 s)."""
    if pipeline.crf is not None:
        raise ValueError("the motion pipeline must run without a CRF: crf= refines here")
    tuning = replace(tuning, input_size=tuple(pipeline.input_size), online=False, crf=False)
    sequence = load_sequence(data_root, name)
    count = len(sequence) if frame_limit is None else min(len(sequence), frame_limit)
    pipeline.stream.reset()
    frames: dict[int, np.ndarray] = {}  # at the network size
    motion: dict[int, np.ndarray] = {}  # raw object probability
    examples = []
    for index in range(count):
        rgb = sequence.frame(index)
        result = pipeline(rgb, index / FRAME_RATE)
        if result.logits is None:
            continue  # frame 0: no previous frame, no flow
        timings = result.timings_ms
        frames[index] = cv2.resize(rgb, pipeline.input_size, interpolation=cv2.INTER_AREA)
        motion[index] = sigmoid(result.logits)
        if (len(motion) - 1) % params.every == 0:
            start = time.perf_counter()
            probability = motion[index]
            if crf is not None:
                probability = crf.object_probability(probability, frames[index])
            labels = pseudo_labels(
                probability, params.positive_threshold, params.negative_threshold, params.margin
            )
            if labels is not None:
                examples.append((frames[index], labels))
            timings["pseudo_labels"] = 1e3 * (time.perf_counter() - start)
        latency.record(timings)
    segmenter = None
    finetune_seconds = 0.0
    if examples:
        segmenter = VideoObjectSegmenter(parent, tuning, device)
        finetune_seconds = segmenter.fit(examples)
    j_scores, f_scores = [], []
    for index in sorted(motion):
        if index == 0 or index == len(sequence) - 1:
            continue  # DAVIS scores neither the first nor the last frame
        timings = {}
        probability = motion[index]
        if segmenter is not None:
            start = time.perf_counter()
            w = params.parent_weight
            probability = (1 - w) * probability + w * segmenter.segment(frames[index])
            timings["parent"] = 1e3 * (time.perf_counter() - start)
        if crf is not None:
            start = time.perf_counter()
            probability = crf.object_probability(probability, frames[index])
            timings["fused_crf"] = 1e3 * (time.perf_counter() - start)
        latency.record(timings)
        truth = sequence.mask(index)
        # bilinear on logits, as MotionPipeline upsamples (with parent_weight 0 and no CRF
        # the masks are nearly eval-motion's)
        mask = upsample_probability(probability_logits(probability), truth.shape) > 0
        j_scores.append(region_j(mask, truth))
        f_scores.append(boundary_f(mask, truth))
    if not j_scores:
        raise ValueError(f"{name}: no frame could be scored (frame_limit {frame_limit})")
    return float(np.mean(j_scores)), float(np.mean(f_scores)), len(j_scores), finetune_seconds


def score_self_trained(
    checkpoints: Sequence[str | os.PathLike],
    parents: Sequence[str | os.PathLike],
    data_root: str | os.PathLike,
    sequences: Sequence[str],
    params: SelfTrainingParams,
    tuning: OnlineParams,
    device: str = "auto",
    frame_limit: int | None = None,
    crf: CRFParams | None = None,
) -> tuple[list[SequenceScore], LatencyStats]:
    """Score ``sequences`` self-trained: each with the motion checkpoint and the VOS
    parent that both held it out."""
    pipelines, chosen = held_out_pipelines(checkpoints, sequences, device)
    loaded = {str(path): load_vos_parent(path) for path in parents}
    parent_of = assign_checkpoints({p: payload for p, (_, payload) in loaded.items()}, sequences)
    dense_crf = DenseCRF(crf) if crf is not None else None
    latency = LatencyStats(window=100_000)
    scores = []
    for name in tqdm(sequences, desc="eval-motion self-training"):
        pipeline = pipelines[chosen[name]]
        j, f, frames, seconds = score_self_trained_sequence(
            pipeline,
            loaded[parent_of[name]][0],
            tuning,
            params,
            dense_crf,
            data_root,
            name,
            latency,
            frame_limit,
            pipeline.device,
        )
        scores.append(SequenceScore(name, Path(chosen[name]).name, j, f, frames, seconds))
    return scores, latency
