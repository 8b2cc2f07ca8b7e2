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

from ..checkpoint import DEFAULT_CHECKPOINT, load_model
from ..classes import ClassSet
from ..device import select_device
from ..models.normalization import MEAN, STD
from .backends import CompiledNetwork, compile_network

__all__ = ["SegmentationPipeline", "SegmentationResult", "resize_to_frame"]


@dataclass
class SegmentationResult:
    """Outputs for one frame, all at the input frame's size."""

    labels: np.ndarray  # (H, W) uint8 class ids
    confidence: np.ndarray | None  # (H, W) float32 max softmax probability (None: skipped)
    timings_ms: dict[str, float] = field(default_factory=dict)
    # (K, h, w) float32 softmax at the network's size, when the pipeline keeps it
    probabilities: np.ndarray | None = None


class SegmentationPipeline:
    """Runs a segmentation model on RGB frames.

    Args:
        model: a model from ``seg_perception.models`` (returns ``{"out": logits}``).
        classes: the classes the model predicts (names and palette).
        input_size: network input (width, height); frames are resized to it.
        device: ``auto``, ``cpu`` or ``cuda[:N]``.
        confidence_stride: the max softmax probability is computed on every
            ``confidence_stride``-th logit in each direction and bilinearly resized to
            the frame (1 = every pixel, exact). The models' logits are themselves
            bilinear upsamplings of stride-4 to stride-8 features, so 4 loses little
            and saves about 2 ms per frame on a CPU.
        network: ``model`` compiled for a backend (``inference.segmentation_network``);
            None runs ``model`` in torch (channels_last, inference mode).
        probabilities: also return the softmax at the network's size (for a CRF); a
            compiled network must then output ``probabilities`` itself.
    """

    def __init__(
        self,
        model: nn.Module,
        classes: ClassSet,
        input_size: tuple[int, int] = (480, 360),
        device: str = "auto",
        confidence_stride: int = 4,
        network: CompiledNetwork | None = None,
        probabilities: bool = False,
    ):
        if not 1 <= confidence_stride <= 16:
            raise ValueError(f"confidence_stride must be in 1..16, got {confidence_stride}")
        self.confidence_stride = confidence_stride
        if input_size[0] < 32 or input_size[1] < 32:
            raise ValueError(f"input size {input_size} is too small (at least 32x32)")
        self.device = select_device(device)
        self.model = model.eval().to(self.device, memory_format=torch.channels_last)
        self.network = network or compile_network(self.model, "torch", ["out"], device=self.device)
        fused = "labels" in self.network.output_names
        if probabilities and fused and "probabilities" not in self.network.output_names:
            raise ValueError(
                f"the {self.network.backend} network does not output class probabilities "
                "(an INT8 model never does; use fp32)"
            )
        self.keeps_probabilities = probabilities
        self.classes = classes
        self.input_size = tuple(input_size)
        # normalised = pixel * scale + shift, with (x - mean) / std folded into one op
        self._scale = torch.as_tensor(1.0 / (STD * 255.0), device=self.device)  # over (.., 3)
        self._shift = torch.as_tensor(-MEAN / STD, device=self.device)
        # one single-channel table per colour channel: cv2.LUT is vectorised for those
        table = classes.lookup_table()
        self._channel_luts = [np.ascontiguousarray(table[:, c]) for c in range(3)]

    @property
    def backend(self) -> str:
        return self.network.backend

    @classmethod
    def from_checkpoint(
        cls,
        path: str | os.PathLike | None,
        classes: ClassSet,
        input_size: tuple[int, int] = (480, 360),
        device: str = "auto",
        confidence_stride: int = 4,
    ) -> SegmentationPipeline:
        """Load a checkpoint (the bundled default when ``path`` is empty) whose classes
        must equal ``classes``."""
        model, _ = load_model(path or DEFAULT_CHECKPOINT, expected_classes=classes)
        return cls(model, classes, input_size, device, confidence_stride)

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    @torch.inference_mode()
    def __call__(self, rgb: np.ndarray, confidence: bool = True) -> SegmentationResult:
        """Segment one (H, W, 3) uint8 RGB frame; ``confidence=False`` skips the
        confidence map (``result.confidence`` is None)."""
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"expected (H, W, 3) uint8 RGB, got {rgb.shape} {rgb.dtype}")
        height, width = rgb.shape[:2]
        t0 = time.perf_counter()
        if (width, height) != self.input_size:
            rgb = cv2.resize(rgb, self.input_size, interpolation=cv2.INTER_LINEAR)
        elif not rgb.flags.writeable:  # a view of the message buffer
            rgb = rgb.copy()
        if "labels" in self.network.output_names:
            return self._fused(rgb, (height, width), t0, confidence)
        # (h, w, 3) uint8 memory is exactly NCHW channels_last: no transpose copy needed
        pixels = torch.from_numpy(rgb).to(self.device).unsqueeze(0).float()  # (1, h, w, 3)
        batch = torch.addcmul(self._shift, pixels, self._scale).permute(0, 3, 1, 2)  # (1, 3, h, w)
        self._sync()
        t1 = time.perf_counter()
        logits = self.network(batch)["out"].to(self.device)  # (1, K, h, w)
        self._sync()
        t2 = time.perf_counter()
        scores = logits[0].contiguous()  # (K, h, w); models already return NCHW
        top_logit, top_class = scores.max(dim=0)  # (h, w)
        labels = top_class.to(torch.uint8).cpu().numpy()
        confidence_map = None
        if confidence:
            step = self.confidence_stride
            sampled = scores[:, ::step, ::step]
            # max softmax = 1 / sum_k exp(l_k - l_max): no full softmax tensor is kept
            top = top_logit[::step, ::step]
            confidence_map = torch.exp(sampled - top).sum(dim=0).reciprocal_().float().cpu()
            confidence_map = confidence_map.numpy()
        result = _at_frame_size(labels, confidence_map, (height, width), (t0, t1, t2))
        if self.keeps_probabilities:
            result.probabilities = torch.softmax(scores.float(), dim=0).cpu().numpy()
        return result

    def _fused(
        self, rgb: np.ndarray, shape: tuple[int, int], started: float, confidence: bool
    ) -> SegmentationResult:
        """A network that returns labels and confidence itself (``FusedSegmentation``)."""
        t1 = time.perf_counter()
        out = self.network(torch.from_numpy(rgb)[None])
        t2 = time.perf_counter()
        labels = out["labels"][0].numpy()
        confidence_map = out["confidence"][0].numpy() if confidence else None
        result = _at_frame_size(labels, confidence_map, shape, (started, t1, t2))
        if self.keeps_probabilities:
            result.probabilities = np.asarray(out["probabilities"][0], dtype=np.float32)
        return result

    def overlay(self, rgb: np.ndarray, labels: np.ndarray, alpha: float = 0.5) -> np.ndarray:
        """Blend the class colours of ``labels`` over ``rgb`` (alpha = colour weight)."""
        colors = cv2.merge([cv2.LUT(labels, lut) for lut in self._channel_luts])
        return cv2.addWeighted(rgb, 1.0 - alpha, colors, alpha, 0.0)


def resize_to_frame(
    labels: np.ndarray, confidence: np.ndarray | None, shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray | None]:
    """Labels (nearest) and confidence (bilinear; None stays None) resized to the
    frame's (height, width)."""
    height, width = shape
    if labels.shape != (height, width):
        labels = cv2.resize(labels, (width, height), interpolation=cv2.INTER_NEAREST)
    if confidence is not None and confidence.shape != (height, width):
        confidence = cv2.resize(confidence, (width, height), interpolation=cv2.INTER_LINEAR)
    return labels, confidence


def _at_frame_size(
    labels: np.ndarray,
    confidence: np.ndarray | None,
    shape: tuple[int, int],
    marks: tuple[float, float, float],
) -> SegmentationResult:
    """``resize_to_frame`` with the stage timings (no confidence: labels only); ``marks``
    are the times preprocessing started, the network started and it ended."""
    labels, confidence = resize_to_frame(labels, confidence, shape)
    t0, t1, t2 = marks
    timings = {
        "preprocess": 1e3 * (t1 - t0),
        "inference": 1e3 * (t2 - t1),
        "postprocess": 1e3 * (time.perf_counter() - t2),
    }
    return SegmentationResult(labels, confidence, timings)
