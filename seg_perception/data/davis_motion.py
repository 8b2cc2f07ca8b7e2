"""DAVIS frames with flow from the previous frame, at the network's input size.

Frames are resized once, flow is computed between consecutive resized frames (as the
node does) and everything is kept in memory. Frame 0 of a sequence has no previous
frame, so items start at frame 1.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset
from tqdm import tqdm

from ..models.normalization import normalize_image
from ..motion import FlowEstimator, flow_to_network_input
from .davis import DavisSequence, load_sequence

__all__ = ["MotionFrame", "DavisMotionFrames", "load_motion_frames"]


@dataclass(frozen=True)
class MotionFrame:
    """One frame at network size: RGB, flow from the previous frame, object mask."""

    sequence: str
    index: int  # frame number in the sequence
    rgb: np.ndarray  # (h, w, 3) uint8
    flow: np.ndarray  # (2, h, w) float16, (dx / w, dy / h)
    mask: np.ndarray  # (h, w) bool


def _resize(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def _sequence_frames(
    sequence: DavisSequence, size: tuple[int, int], estimator: FlowEstimator, limit: int | None
) -> list[MotionFrame]:
    frames: list[MotionFrame] = []
    count = len(sequence) if limit is None else min(len(sequence), limit)
    previous = _resize(sequence.frame(0), size)
    for index in range(1, count):
        rgb = _resize(sequence.frame(index), size)
        flow = flow_to_network_input(estimator(previous, rgb)).astype(np.float16)
        mask = cv2.resize(
            sequence.mask(index).astype(np.uint8), size, interpolation=cv2.INTER_NEAREST
        )
        frames.append(MotionFrame(sequence.name, index, rgb, flow, mask.astype(bool)))
        previous = rgb
    return frames


def load_motion_frames(
    data_root: str | os.PathLike,
    sequences: Sequence[str],
    size: tuple[int, int],
    estimator: FlowEstimator,
    frame_limit: int | None = None,
) -> list[MotionFrame]:
    """Frames 1.. of each sequence at ``size`` (width, height), with flow."""
    frames: list[MotionFrame] = []
    for name in tqdm(sequences, desc="flow"):
        frames += _sequence_frames(load_sequence(data_root, name), size, estimator, frame_limit)
    return frames


class DavisMotionFrames(Dataset):
    """``(image, flow, mask)`` tensors; training adds flips and brightness changes.

    Args:
        frames: from ``load_motion_frames``.
        augment: random horizontal flip (flow dx negated) and brightness/contrast.
        rng: numpy generator for the augmentation.
    """

    def __init__(
        self,
        frames: list[MotionFrame],
        augment: bool = False,
        rng: np.random.Generator | None = None,
    ):
        self.frames = frames
        self.augment = augment
        self.rng = rng or np.random.default_rng()

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        frame = self.frames[index]
        rgb, flow, mask = frame.rgb, frame.flow.astype(np.float32), frame.mask
        if self.augment:
            if self.rng.random() < 0.5:
                rgb, mask = rgb[:, ::-1], mask[:, ::-1]
                flow = flow[:, :, ::-1] * np.array([-1.0, 1.0], np.float32)[:, None, None]
            gain, offset = self.rng.uniform(0.8, 1.2), self.rng.uniform(-20, 20)
            rgb = np.clip(rgb.astype(np.float32) * gain + offset, 0, 255).astype(np.uint8)
        image = normalize_image(np.ascontiguousarray(rgb))
        return (
            image,
            torch.from_numpy(np.ascontiguousarray(flow)),
            torch.from_numpy(np.ascontiguousarray(mask, dtype=np.float32))[None],
        )
