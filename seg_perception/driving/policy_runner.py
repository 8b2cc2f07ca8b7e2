"""Frame in, limited ``(linear.x, angular.z)`` command out: the policy node and the
in-process evaluation share this, so both drive identically."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..checkpoint import CheckpointError, load_checkpoint, load_weights
from ..device import select_device
from ..inference.backends import CompiledNetwork, compile_network
from ..inference.onnx_cache import cached_onnx, file_sha256
from ..models.normalization import MEAN, STD
from .commands import CommandLimiter, LimiterConfig, action_to_twist_values
from .policy_model import POLICY_MODEL, DrivingPolicy

__all__ = ["PolicyRunner", "PolicyCommand", "load_policy", "frames_to_batch"]


def load_policy(path: str | os.PathLike) -> tuple[DrivingPolicy, dict[str, Any]]:
    """A policy checkpoint's model in eval mode (float32), and its payload."""
    payload = load_checkpoint(path)
    if payload["model_name"] != POLICY_MODEL:
        raise CheckpointError(
            f"checkpoint {path} holds a {payload['model_name']!r} model, not {POLICY_MODEL!r}"
        )
    # the checkpoint holds every weight: never read ImageNet weights to rebuild it
    model = DrivingPolicy(**{**payload["model_kwargs"], "pretrained": False})
    load_weights(model, payload, path)
    return model.eval(), payload


def compile_policy(
    model: DrivingPolicy,
    checkpoint: str | os.PathLike,
    input_size: int,
    backend: str,
    with_segmentation: bool,
    device: torch.device,
    threads: int = 0,
) -> CompiledNetwork:
    """The policy on ``backend`` for square ``input_size`` frames (ONNX cached by the
    checkpoint's SHA-256), with or without the auxiliary segmentation output."""
    outputs = ["action", "seg"] if with_segmentation else ["action"]
    example = torch.zeros(1, 3, input_size, input_size)

    def onnx_path() -> Path:
        return cached_onnx(
            model,
            [example],
            ["image"],
            outputs,
            "policy",
            file_sha256(checkpoint),
            {"with_segmentation": with_segmentation},
        )[0]

    return compile_network(model, backend, outputs, onnx_path, device, threads)


def frames_to_batch(frames: np.ndarray | torch.Tensor) -> torch.Tensor:
    """(B, H, W, 3) uint8 RGB -> normalised (B, 3, H, W) float."""
    pixels = torch.as_tensor(frames).float().div_(255.0)
    mean, std = torch.from_numpy(MEAN), torch.from_numpy(STD)
    return ((pixels - mean) / std).permute(0, 3, 1, 2).contiguous()


@dataclass
class PolicyCommand:
    linear_x: float
    angular_z: float
    action: np.ndarray  # the policy's raw [steer, gas, brake]
    segmentation: np.ndarray | None  # (H, W) uint8 labels of the auxiliary head
    timings_ms: dict[str, float] = field(default_factory=dict)


class PolicyRunner:
    """Runs a ``DrivingPolicy`` on frames and limits its commands.

    Args:
        model: the policy.
        limiter: magnitude and rate limits (see ``CommandLimiter``).
        device: ``auto``, ``cpu`` or ``cuda[:N]``.
        network: the policy compiled for a backend (``compile_policy``); used for the
            calls whose ``with_segmentation`` matches its outputs, torch otherwise.
    """

    def __init__(
        self,
        model: DrivingPolicy,
        limiter: LimiterConfig | None = None,
        device: str = "auto",
        network: CompiledNetwork | None = None,
    ):
        self.device = select_device(device)
        self.model = model.eval().to(self.device)
        self.network = network
        self.limiter = CommandLimiter(limiter)

    @property
    def backend(self) -> str:
        return self.network.backend if self.network is not None else "torch"

    def reset(self) -> None:
        """Forget the previous command (a new episode or a restarted stream)."""
        self.limiter.reset()

    @torch.inference_mode()
    def __call__(
        self,
        frame: np.ndarray,
        stamp_s: float,
        with_segmentation: bool = False,
        now_s: float | None = None,
    ) -> PolicyCommand:
        """The command for ``frame``; ``now_s`` (the receiving node's clock) keeps the rate
        limit honest when frame stamps freeze, go back or jump (see ``CommandLimiter``)."""
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"expected (H, W, 3) uint8 RGB, got {frame.shape} {frame.dtype}")
        started = time.perf_counter()
        batch = frames_to_batch(frame[None]).to(self.device)
        network = self.network
        if network is not None and ("seg" in network.output_names) == with_segmentation:
            out = network(batch)
        else:
            out = self.model(batch, with_segmentation=with_segmentation)
        action = out["action"][0].cpu().numpy().astype(np.float64)
        segmentation = None
        if with_segmentation:
            segmentation = out["seg"][0].argmax(0).to(torch.uint8).cpu().numpy()
        inferred = time.perf_counter()
        linear, angular = self.limiter(stamp_s, *action_to_twist_values(action), now_s=now_s)
        timings = {"inference": 1e3 * (inferred - started)}
        return PolicyCommand(linear, angular, action, segmentation, timings)
