"""Size, compute and CPU latency of each model (no ROS imports)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from ..models import DEFAULT_ENCODERS, build_model

__all__ = ["ModelProfile", "profile_model"]


@dataclass
class ModelProfile:
    name: str
    encoder: str
    params_millions: float
    gflops: float  # multiply-adds counted as 2 FLOPs, one frame
    cpu_ms_median: float


@torch.inference_mode()
def profile_model(
    name: str,
    num_classes: int = 11,
    size: tuple[int, int] = (480, 360),
    repeats: int = 10,
    **model_kwargs,
) -> ModelProfile:
    """Parameters, GFLOPs and median forward latency for one (1, 3, H, W) frame of
    ``build_model(name, num_classes, **model_kwargs)`` (torch eager, channels_last)."""
    model = build_model(name, num_classes, **model_kwargs).eval()
    model = model.to(memory_format=torch.channels_last)
    frame = torch.randn(1, 3, size[1], size[0]).contiguous(memory_format=torch.channels_last)
    counter = FlopCounterMode(display=False)
    with counter:
        model(frame)
    model(frame)  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model(frame)
        times.append(1e3 * (time.perf_counter() - start))
    return ModelProfile(
        name=name,
        encoder=model_kwargs.get("encoder", DEFAULT_ENCODERS[name])
        + (", not dilated" if model_kwargs.get("dilated") is False else ""),
        params_millions=sum(p.numel() for p in model.parameters()) / 1e6,
        gflops=counter.get_total_flops() / 1e9,
        cpu_ms_median=float(np.median(times)),
    )
