"""The generalised few-shot evaluation of one fold and k (no ROS).

Query frames are segmented once by the base model up to the classifier features
(cached); each episode then imprints the fold's novel classes from its support frames
(and, for alpha > 0, adapts the base proxies present in them) and scores every query
frame with base and novel classes competing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from ..classes import IGNORE_INDEX
from ..data.camvid import read_rgb
from ..data.labelled_data import LabelledData
from ..evaluation.metrics import ConfusionMatrix
from .adaptive_proxies import AdaptiveProxies, classifier_features, segment_features
from .episodes import SupportFrame, draw_episode
from .proxies import support_prototypes
from .proxy_refinement import REFINE_LR, REFINE_PARTIAL, refine_proxies

__all__ = [
    "Adaptation",
    "QuerySet",
    "cache_queries",
    "score_queries",
    "run_episode",
    "EpisodeResult",
]


@dataclass(frozen=True, order=True)
class Adaptation:
    """How an episode's proxies are made: base proxies mixed towards their support
    prototypes by ``alpha`` (0: imprinting only), then ``refine_steps`` gradient steps
    on the novel rows (``proxy_refinement``; 0: none)."""

    alpha: float
    refine_steps: int = 0

    @property
    def key(self) -> str:
        return f"alpha {self.alpha:g}, refine {self.refine_steps}"


@dataclass
class QuerySet:
    """Query frames as cached classifier features (fp16) and their labels."""

    stems: list[str]
    images: list[Path]
    features: list[dict[str, torch.Tensor]]
    labels: list[np.ndarray]


def cache_queries(
    model: nn.Module,
    data: LabelledData,
    split: str,
    input_size: tuple[int, int],
    limit: int | None = None,
) -> QuerySet:
    """Classifier features and labels of the first ``limit`` frames of ``data``'s
    ``split``."""
    files = data.files(split)[:limit]
    queries = QuerySet([], [], [], [])
    for stem, image, label in tqdm(files, desc=f"features of {split}", leave=False):
        features = classifier_features(model, read_rgb(image), input_size)
        queries.stems.append(stem)
        queries.images.append(Path(image))
        queries.features.append({k: v.half() for k, v in features.items()})
        queries.labels.append(data.read_label(label))
    return queries


def score_queries(
    model: nn.Module, queries: QuerySet, active: torch.Tensor, keep: Sequence[int] = ()
) -> tuple[ConfusionMatrix, dict[int, np.ndarray]]:
    """Confusion over the query frames; also the predicted labels of query ``keep``."""
    confusion = ConfusionMatrix(len(active))
    kept = {}
    for index, (features, truth) in enumerate(zip(queries.features, queries.labels, strict=True)):
        labels = segment_features(model, features, active, truth.shape)
        confusion.update(truth, labels)
        if index in keep:
            kept[index] = labels
    return confusion, kept


@dataclass
class EpisodeResult:
    """One episode: per adaptation, the confusion; and the support frames it drew."""

    supports: dict[int, list[str]]
    confusions: dict[Adaptation, ConfusionMatrix] = field(default_factory=dict)
    kept: dict[Adaptation, dict[int, np.ndarray]] = field(default_factory=dict)


def _support_labels(
    model: nn.Module,
    data: LabelledData,
    frame: SupportFrame,
    class_id: int,
    base_active: torch.Tensor,
    input_size: tuple[int, int],
) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
    """Features of a support frame, its mask as labels (class id or ignore) and the
    base model's prediction outside the mask (labels for adapting base proxies)."""
    rgb, truth = read_rgb(frame.image), data.read_label(frame.label)
    features = classifier_features(model, rgb, input_size)
    mask = torch.from_numpy(truth == class_id)
    novel = torch.full(mask.shape, IGNORE_INDEX, dtype=torch.int64)
    novel[mask] = class_id
    predicted = segment_features(model, features, base_active, truth.shape)
    base = torch.from_numpy(predicted.astype(np.int64))
    base[mask] = IGNORE_INDEX
    return features, novel, base


def run_episode(
    model: nn.Module,
    proxies: AdaptiveProxies,
    data: LabelledData,
    queries: QuerySet,
    pools: dict[int, list[SupportFrame]],
    shots: int,
    seed: Sequence[int],
    base_ids: Sequence[int],
    adaptations: Sequence[Adaptation],
    input_size: tuple[int, int],
    keep: Sequence[int] = (),
    refine_lr: float = REFINE_LR,
    refine_partial: float = REFINE_PARTIAL,
) -> EpisodeResult:
    """Draw an episode from ``data``'s support ``pools``, imprint its novel classes,
    score the queries once per adaptation."""
    episode = draw_episode(pools, shots, seed)
    num_classes = data.classes.num_classes
    base_active = torch.zeros(num_classes, dtype=torch.bool)
    base_active[list(base_ids)] = True
    proxies.reset()
    novel_prototypes = {}
    base_features, base_labels, frame_labels = [], [], []
    for class_id, frames in episode.items():
        features, novel_labels = [], []
        for frame in frames:
            f, novel, base = _support_labels(model, data, frame, class_id, base_active, input_size)
            features.append(f)
            novel_labels.append(novel)
            base_features.append(f)
            base_labels.append(base)
            frame_labels.append(torch.where(novel == class_id, novel, base))
        novel_prototypes.update(support_prototypes(features, novel_labels, [class_id]))
    base_prototypes = support_prototypes(base_features, base_labels, list(base_ids))
    result = EpisodeResult({c: [f.stem for f in frames] for c, frames in episode.items()})
    everything = torch.ones(num_classes, dtype=torch.bool)
    for adaptation in adaptations:
        proxies.reset()
        for class_id, prototype in novel_prototypes.items():
            proxies.imprint(class_id, prototype)
        if adaptation.alpha > 0:
            for class_id, prototype in base_prototypes.items():
                proxies.adapt(class_id, prototype, adaptation.alpha)
        refine_proxies(
            proxies,
            base_features,
            frame_labels,
            list(novel_prototypes),
            adaptation.refine_steps,
            refine_lr,
            partial=refine_partial,
        )
        confusion, kept = score_queries(model, queries, everything, keep)
        result.confusions[adaptation] = confusion
        result.kept[adaptation] = kept
    proxies.reset()
    return result
