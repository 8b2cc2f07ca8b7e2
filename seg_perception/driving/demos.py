"""Demonstrations: frames, expert actions and segmentation labels, saved as ``.npz``.

The expert drives with DART-style noise (Laskey et al., 2017): the executed steering
is perturbed so the recording visits off-centre states, while the recorded action is
always the expert's clean answer for the state, which teaches recoveries. DAgger
(Ross et al., 2011) goes one step further: a trained policy drives and the expert
labels the states the policy itself reaches.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..io_utils import atomic_write
from .expert import PurePursuitExpert
from .sim import CarRacingSim

__all__ = [
    "Demonstrations",
    "record_expert_demos",
    "record_dagger_demos",
    "save_demos",
    "load_demos",
]


@dataclass
class Demonstrations:
    frames: np.ndarray  # (N, 96, 96, 3) uint8
    actions: np.ndarray  # (N, 3) float32 [steer, gas, brake]
    labels: np.ndarray  # (N, 96, 96) uint8 class ids (DRIVING_CLASSES)
    episodes: np.ndarray  # (N,) int episode (seed) of each frame

    def __len__(self) -> int:
        return len(self.frames)

    @classmethod
    def concatenate(cls, parts: Sequence[Demonstrations]) -> Demonstrations:
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in cls.__annotations__))


def record_expert_demos(
    seeds: Sequence[int], steer_noise: float = 0.25, noise_hold: int = 8, skip_frames: int = 50
) -> tuple[Demonstrations, list[float]]:
    """Drive one episode per seed with the expert and record it.

    Args:
        seeds: track seeds (one episode each).
        steer_noise: std of the steering noise added to the executed action (0 = none).
        noise_hold: steps each noise sample is held (a smooth disturbance).
        skip_frames: the first frames (the camera's zoom-in) are not recorded.

    Returns:
        The demonstrations and each episode's return (noisy, so below the expert's).
    """
    sim, expert = CarRacingSim(), PurePursuitExpert()
    parts, returns = [], []
    rng = np.random.default_rng(int(seeds[0]) if len(seeds) else 0)
    for seed in tqdm(seeds, desc="expert episodes", dynamic_ncols=True):
        frame = sim.reset(seed)
        frames, actions, labels = [], [], []
        noise = 0.0
        result = None
        while not sim.done:
            action = expert.action(sim.unwrapped)
            if sim.steps >= skip_frames:
                frames.append(frame)
                actions.append(action.astype(np.float32))
                labels.append(sim.labels())
            if sim.steps % noise_hold == 0:
                noise = float(rng.normal(0.0, steer_noise)) if steer_noise > 0 else 0.0
            executed = action.copy()
            executed[0] = np.clip(executed[0] + noise, -1.0, 1.0)
            result = sim.step(executed)
            frame = result.frame
        returns.append(result.episode_return if result else 0.0)
        parts.append(
            Demonstrations(
                np.stack(frames),
                np.stack(actions),
                np.stack(labels),
                np.full(len(frames), seed, dtype=np.int64),
            )
        )
    sim.close()
    return Demonstrations.concatenate(parts), returns


def record_dagger_demos(runner, seeds: Sequence[int], skip_frames: int = 50):
    """DAgger: ``runner`` (a ``PolicyRunner``) drives one episode per seed, the expert
    labels every frame. Returns the demonstrations and the policy's returns."""
    from .commands import twist_values_to_action
    from .sim import FRAME_PERIOD_S

    sim, expert = CarRacingSim(), PurePursuitExpert()
    parts, returns = [], []
    for seed in tqdm(seeds, desc="DAgger episodes", dynamic_ncols=True):
        frame = sim.reset(seed)
        runner.reset()
        frames, actions, labels = [], [], []
        result = None
        while not sim.done:
            if sim.steps >= skip_frames:
                frames.append(frame)
                actions.append(expert.action(sim.unwrapped).astype(np.float32))
                labels.append(sim.labels())
            else:
                expert.action(sim.unwrapped)  # keeps the expert's track position current
            command = runner(frame, sim.steps * FRAME_PERIOD_S)
            result = sim.step(twist_values_to_action(command.linear_x, command.angular_z))
            frame = result.frame
        returns.append(result.episode_return if result else 0.0)
        parts.append(
            Demonstrations(
                np.stack(frames),
                np.stack(actions),
                np.stack(labels),
                np.full(len(frames), seed, dtype=np.int64),
            )
        )
    sim.close()
    return Demonstrations.concatenate(parts), returns


def save_demos(path: str | os.PathLike, demos: Demonstrations) -> None:
    """Write demonstrations as a compressed ``.npz``, atomically."""
    with atomic_write(path, suffix=".npz") as tmp:
        np.savez_compressed(tmp, **{f: getattr(demos, f) for f in Demonstrations.__annotations__})


def load_demos(paths: Sequence[str | os.PathLike]) -> Demonstrations:
    """Read and join ``.npz`` demonstration files."""
    parts = []
    for path in paths:
        if not Path(path).is_file():
            raise FileNotFoundError(f"demonstrations {path} not found")
        with np.load(path) as data:
            missing = set(Demonstrations.__annotations__) - set(data.files)
            if missing:
                raise ValueError(f"{path} lacks {', '.join(sorted(missing))}")
            parts.append(Demonstrations(*(data[f] for f in Demonstrations.__annotations__)))
    if not parts:
        raise ValueError("no demonstration files given")
    return Demonstrations.concatenate(parts)
