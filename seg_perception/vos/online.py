"""OSVOS and OnAVOS on a foreground parent network.

OSVOS (Caelles et al., CVPR 2017): a copy of the parent is fine-tuned on the first
frame and its mask (augmented), then segments the rest of the sequence frame by frame.
OnAVOS (Voigtlaender & Leibe, BMVC 2017) adds online adaptation: after frame t, a few
steps on its confident positives and far negatives (``online_targets``), each batch
mixed with the first frame so the target's appearance is not forgotten.
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
import torch
from torch import nn

from ..data.transforms import TrainTransform
from ..io_utils import load_config
from ..refine.dense_crf import CRFParams, DenseCRF, crf_params_from
from .foreground_loss import masked_foreground_loss
from .foreground_net import freeze_batchnorm, freeze_early_stages, network_input
from .online_targets import online_targets

__all__ = ["OnlineParams", "VideoObjectSegmenter", "load_online_params"]

Progress = Callable[[int, int], None]  # (steps done, steps planned)


@dataclass(frozen=True)
class OnlineParams:
    """How the parent is fine-tuned on the first frame and (OnAVOS) adapted online."""

    input_size: tuple[int, int] = (432, 240)  # (width, height) the network sees
    finetune_steps: int = 100
    finetune_lr: float = 1e-4  # Adam
    batch_size: int = 2  # augmented copies of the first frame (or of fit's frames) per step
    frozen_stages: int = 2  # stem and first blocks of the encoder stay fixed
    scale_range: tuple[float, float] = (0.8, 1.2)
    color_jitter: float = 0.1
    threshold: float = 0.5  # probability above which a pixel is the object
    online: bool = False  # OnAVOS
    adapt_every: int = 1  # adapt after every n-th frame
    adapt_steps: int = 2
    online_lr: float = 3e-5
    positive_threshold: float = 0.97
    erosion: int = 5  # pixels at the network size
    negative_distance: float = 0.2  # fraction of the diagonal, from the last mask
    # dense CRF over (background, object) and the frame at the network size: sharper
    # edges along colour boundaries (refine/dense_crf.py; needs pydensecrf2)
    crf: bool = False
    crf_kernel: CRFParams = field(default_factory=CRFParams)  # YAML: a mapping of its fields
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("input_size", "scale_range"):  # YAML gives lists
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if isinstance(self.crf_kernel, dict):  # YAML gives a mapping
            object.__setattr__(self, "crf_kernel", crf_params_from(self.crf_kernel))
        checks = {
            "finetune_steps": self.finetune_steps >= 0,
            "finetune_lr": self.finetune_lr > 0,
            "batch_size": self.batch_size >= 1,
            "frozen_stages": 0 <= self.frozen_stages <= 7,
            "threshold": 0 < self.threshold < 1,
            "adapt_every": self.adapt_every >= 1,
            "adapt_steps": self.adapt_steps >= 0,
            "online_lr": self.online_lr > 0,
            "positive_threshold": 0 < self.positive_threshold < 1,
            "erosion": self.erosion >= 0,
            "negative_distance": 0 < self.negative_distance < 1,
            "input_size": min(self.input_size) >= 32,
            "scale_range": 0 < self.scale_range[0] <= self.scale_range[1],
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise ValueError(f"invalid VOS parameter(s): {', '.join(bad)}")


def load_online_params(path: str | os.PathLike, **overrides: Any) -> OnlineParams:
    """Read ``OnlineParams`` from YAML (config/vos/osvos.yaml, onavos.yaml)."""
    return load_config(OnlineParams, path, **overrides)


class VideoObjectSegmenter:
    """One target: ``init`` fine-tunes a copy of the parent on a mask (``fit``: on
    several partly labelled frames), ``segment`` then returns each later frame's object
    probability (and adapts online if configured).

    Args:
        parent: foreground network (``load_vos_parent``); never modified.
        params: fine-tuning and online adaptation settings.
        device: torch device.
    """

    def __init__(
        self, parent: nn.Module, params: OnlineParams, device: str | torch.device = "cpu"
    ):
        self.params = params
        self.device = torch.device(device)
        self.model = copy.deepcopy(parent).to(self.device).eval()
        freeze_batchnorm(self.model)
        freeze_early_stages(self.model, params.frozen_stages)
        self._augment = TrainTransform(
            (params.input_size[1], params.input_size[0]),
            params.scale_range,
            params.color_jitter,
            rng=np.random.default_rng(params.seed),
        )
        self._crf = DenseCRF(params.crf_kernel) if params.crf else None
        self._examples: list[tuple[np.ndarray, np.ndarray]] = []  # (frame, labels)
        self._pick = np.random.default_rng(params.seed + 1)  # which example, when several
        self._last_mask: np.ndarray | None = None
        self._frames = 0
        self.adaptations = 0

    def _trainable(self) -> list[nn.Parameter]:
        return [p for p in self.model.parameters() if p.requires_grad]

    def _example_batch(self, copies: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``copies`` augmented examples: the first frame, or random ones of ``fit``'s."""
        pairs = []
        for _ in range(copies):
            index = 0 if len(self._examples) == 1 else self._pick.integers(len(self._examples))
            pairs.append(self._augment(*self._examples[index]))
        return torch.stack([p[0] for p in pairs]), torch.stack([p[1] for p in pairs])

    def _step(
        self, optimizer: torch.optim.Optimizer, images: torch.Tensor, labels: torch.Tensor
    ) -> float:
        logits = self.model(images.to(self.device))["out"]
        loss = masked_foreground_loss(logits, labels.to(self.device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return float(loss.item())

    def init(
        self,
        rgb: np.ndarray,
        mask: np.ndarray,
        progress: Progress | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> float:
        """Fine-tune on ``rgb`` (H, W, 3 uint8) and its ``mask`` (H, W bool); seconds.

        ``should_stop`` (polled each step) ends fine-tuning early, e.g. when a newer
        target replaces this one.
        """
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"the frame must be (H, W, 3) uint8 RGB, not {rgb.shape} {rgb.dtype}")
        if mask.shape != rgb.shape[:2]:
            raise ValueError(f"mask {mask.shape} does not match the frame {rgb.shape[:2]}")
        if not mask.any():
            raise ValueError("the target mask is empty")
        started = time.monotonic()
        size = self.params.input_size
        frame = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        small_mask = cv2.resize(mask.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST)
        if not small_mask.any():
            raise ValueError("the target mask vanishes at the network size: too small")
        self._examples = [(frame, small_mask)]
        self._last_mask = small_mask.astype(bool)
        self._finetune(progress, should_stop)
        return time.monotonic() - started

    def fit(
        self,
        examples: list[tuple[np.ndarray, np.ndarray]],
        progress: Progress | None = None,
    ) -> float:
        """Fine-tune on several frames at once; seconds. Each example is an (h, w, 3)
        uint8 frame at the network size and its (h, w) uint8 labels: 1 object, 0
        background, ``IGNORE_INDEX`` unknown (e.g. pseudo-labels from another model).
        Online adaptation, if configured, starts after the second segmented frame (the
        first gives the previous mask its negatives are measured from)."""
        size = self.params.input_size
        for rgb, labels in examples:
            if rgb.dtype != np.uint8 or labels.dtype != np.uint8:
                raise ValueError(f"examples must be uint8, not {rgb.dtype} and {labels.dtype}")
            if rgb.shape != (size[1], size[0], 3) or labels.shape != rgb.shape[:2]:
                raise ValueError(
                    f"examples must be frames and labels at {size}, not {rgb.shape} {labels.shape}"
                )
        if not any((labels == 1).any() for _, labels in examples):
            raise ValueError("no example labels any pixel as the object")
        started = time.monotonic()
        self._examples = list(examples)
        self._last_mask = None
        self._finetune(progress, None)
        return time.monotonic() - started

    def _finetune(self, progress: Progress | None, should_stop: Callable[[], bool] | None) -> None:
        optimizer = torch.optim.Adam(self._trainable(), lr=self.params.finetune_lr)
        steps = self.params.finetune_steps
        for step in range(steps):
            if should_stop is not None and should_stop():
                break
            self._step(optimizer, *self._example_batch(self.params.batch_size))
            if progress is not None:
                progress(step + 1, steps)
        self._online_optimizer = torch.optim.Adam(self._trainable(), lr=self.params.online_lr)
        self._frames = 0

    def segment(self, rgb: np.ndarray) -> np.ndarray:
        """(h, w) float32 object probability of the next frame at the network size."""
        if not self._examples:
            raise RuntimeError("init() or fit() must be called before segment()")
        size = self.params.input_size
        small = (
            rgb
            if (rgb.shape[1], rgb.shape[0]) == size
            else cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        )
        image = network_input(small, size).to(self.device)
        with torch.inference_mode():
            probability = torch.sigmoid(self.model(image)["out"])[0, 0].float().cpu().numpy()
        if self._crf is not None:
            probability = self._crf.object_probability(probability, small)
        self._frames += 1
        if self.params.online and self._frames % self.params.adapt_every == 0:
            self._adapt(image, probability)
        self._last_mask = probability > self.params.threshold
        return probability

    def _adapt(self, image: torch.Tensor, probability: np.ndarray) -> None:
        p = self.params
        if self._last_mask is None:  # after fit(): no previous frame's mask yet
            return
        labels = online_targets(
            probability, self._last_mask, p.positive_threshold, p.erosion, p.negative_distance
        )
        if labels is None or p.adapt_steps == 0:
            return
        current = torch.from_numpy(labels.astype(np.int64))[None]
        for _ in range(p.adapt_steps):
            first_images, first_labels = self._example_batch(1)
            images = torch.cat([image.cpu(), first_images])
            self._step(self._online_optimizer, images, torch.cat([current, first_labels]))
        self.adaptations += 1
