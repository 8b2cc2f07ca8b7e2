"""The segmentation pipeline the node, the demo, ``eval`` and bag evaluation share.

RGB frame -> preprocess (resize to the network size, normalise) -> network ->
postprocess (argmax labels and max-softmax confidence at the frame's size, colour
overlay). Each stage is timed. No ROS imports.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import cv2
import numpy as np
import torch
from torch import nn

from .checkpoint import DEFAULT_CHECKPOINT, load_model
from .classes import ClassSet
from .data.transforms import MEAN, STD

__all__ = ["SegmentationPipeline", "SegmentationResult", "select_device"]


def select_device(requested: str = "auto") -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cuda`` without a GPU is an error."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(requested)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' requested but no CUDA GPU is available")
    return device


@dataclass
class SegmentationResult:
    """Outputs for one frame, all at the input frame's size."""

    labels: np.ndarray  # (H, W) uint8 class ids
    confidence: np.ndarray  # (H, W) float32 max softmax probability
    timings_ms: dict[str, float] = field(default_factory=dict)


def _first_argmax(scores: torch.Tensor, top: torch.Tensor) -> torch.Tensor:
    """Index of the first maximum over the class axis of (K, h, w) ``scores``, as uint8.

    Same result as ``argmax(0)`` but a few vectorised plane comparisons instead of
    torch's index-tracking reduction, which is several times slower on CPU.
    """
    labels = torch.full(top.shape, scores.shape[0] - 1, dtype=torch.uint8, device=scores.device)
    for k in range(scores.shape[0] - 2, -1, -1):
        labels.masked_fill_(scores[k] == top, k)
    return labels


class SegmentationPipeline:
    """Runs a segmentation model on RGB frames.

    Args:
        model: a model from ``seg_perception.models`` (returns ``{"out": logits}``).
        classes: the classes the model predicts (names and palette).
        input_size: network input (width, height); frames are resized to it.
        device: ``auto``, ``cpu`` or ``cuda[:N]``.
    """

    def __init__(
        self,
        model: nn.Module,
        classes: ClassSet,
        input_size: tuple[int, int] = (480, 360),
        device: str = "auto",
    ):
        if input_size[0] < 32 or input_size[1] < 32:
            raise ValueError(f"input size {input_size} is too small (at least 32x32)")
        self.device = select_device(device)
        self.model = model.eval().to(self.device, memory_format=torch.channels_last)
        self.classes = classes
        self.input_size = tuple(input_size)
        self._mean = torch.as_tensor(MEAN * 255.0, device=self.device)  # broadcasts over (.., 3)
        self._inv_std = torch.as_tensor(1.0 / (STD * 255.0), device=self.device)
        self._color_lut = classes.lookup_table().reshape(256, 1, 3)  # cv2.LUT, per channel

    @classmethod
    def from_checkpoint(
        cls,
        path: str | os.PathLike | None,
        classes: ClassSet,
        input_size: tuple[int, int] = (480, 360),
        device: str = "auto",
    ) -> SegmentationPipeline:
        """Load a checkpoint (the bundled default when ``path`` is empty) whose classes
        must equal ``classes``."""
        model, _ = load_model(path or DEFAULT_CHECKPOINT, expected_classes=classes)
        return cls(model, classes, input_size, device)

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    @torch.inference_mode()
    def __call__(self, rgb: np.ndarray) -> SegmentationResult:
        """Segment one (H, W, 3) uint8 RGB frame."""
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"expected (H, W, 3) uint8 RGB, got {rgb.shape} {rgb.dtype}")
        height, width = rgb.shape[:2]
        t0 = time.perf_counter()
        if (width, height) != self.input_size:
            rgb = cv2.resize(rgb, self.input_size, interpolation=cv2.INTER_LINEAR)
        elif not rgb.flags.writeable:  # a view of the message buffer
            rgb = rgb.copy()
        # (h, w, 3) uint8 memory is exactly NCHW channels_last: no transpose copy needed
        pixels = torch.from_numpy(rgb).to(self.device).unsqueeze(0).float()  # (1, h, w, 3)
        batch = ((pixels - self._mean) * self._inv_std).permute(0, 3, 1, 2)  # (1, 3, h, w)
        self._sync()
        t1 = time.perf_counter()
        logits = self.model(batch)["out"]  # (1, K, h, w)
        self._sync()
        t2 = time.perf_counter()
        scores = logits[0].contiguous()  # (K, h, w); models already return NCHW
        top_logit = scores.amax(dim=0)  # (h, w)
        # max softmax = 1 / sum_k exp(l_k - l_max): no full softmax tensor is kept
        confidence = torch.exp(scores - top_logit).sum(dim=0).reciprocal_()
        top_class = _first_argmax(scores, top_logit)
        labels = top_class.cpu().numpy()
        confidence = confidence.float().cpu().numpy()
        if labels.shape != (height, width):
            labels = cv2.resize(labels, (width, height), interpolation=cv2.INTER_NEAREST)
            confidence = cv2.resize(confidence, (width, height), interpolation=cv2.INTER_LINEAR)
        t3 = time.perf_counter()
        timings = {
            "preprocess": 1e3 * (t1 - t0),
            "inference": 1e3 * (t2 - t1),
            "postprocess": 1e3 * (t3 - t2),
        }
        return SegmentationResult(labels, confidence, timings)

    def overlay(self, rgb: np.ndarray, labels: np.ndarray, alpha: float = 0.5) -> np.ndarray:
        """Blend the class colours of ``labels`` over ``rgb`` (alpha = colour weight)."""
        colors = cv2.LUT(cv2.merge([labels, labels, labels]), self._color_lut)
        return cv2.addWeighted(rgb, 1.0 - alpha, colors, alpha, 0.0)
