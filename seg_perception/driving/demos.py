"""Demonstrations: frames, expert actions and segmentation labels, saved as ``.npz``.

The expert drives with DART-style noise (Laskey et al., 2017): the executed steering
is perturbed so the recording visits off-centre states, while the recorded action is
always the expert's clean answer for the state, which teaches recoveries. DAgger
(Ross et al., 2011) goes one step further: a trained policy drives and the expert
labels the states the policy itself reaches.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
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


def _record(
    seeds: Sequence[int],
    desc: str,
    skip_frames: int,
    drive: Callable[[CarRacingSim, np.ndarray, np.ndarray], np.ndarray],
    on_reset: Callable[[], None] = lambda: None,
) -> tuple[Demonstrations, list[float]]:
    """One episode per seed: the expert labels every frame from ``skip_frames`` on,
    ``drive(sim, frame, expert_action)`` picks the executed action."""
    sim, expert = CarRacingSim(), PurePursuitExpert()
    parts, returns = [], []
    try:
        for seed in tqdm(seeds, desc=desc, dynamic_ncols=True):
            frame = sim.reset(seed)
            on_reset()
            frames, actions, labels = [], [], []
            result = None
            while not sim.done:
                action = expert.action(sim.unwrapped)  # every step: it tracks its position
                if sim.steps >= skip_frames:
                    frames.append(frame)
                    actions.append(action.astype(np.float32))
                    labels.append(sim.labels())
                result = sim.step(drive(sim, frame, action))
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
    finally:
        sim.close()
    return Demonstrations.concatenate(parts), returns


def record_expert_demos(
    seeds: Sequence[int], steer_noise: float = 0.1, noise_hold: int = 8, skip_frames: int = 0
) -> tuple[Demonstrations, list[float]]:
    """Drive one episode per seed with the (noisy) expert and record it.

    Args:
        seeds: track seeds (one episode each).
        steer_noise: std of the steering noise added to the executed action (0 = none).
        noise_hold: steps each noise sample is held (a smooth disturbance).
        skip_frames: the first frames are not recorded. Keep 0: the policy drives through
            the camera's zoom-in (about the first 50 frames) too, and a policy never shown
            it left the road there with the full-throttle expert.

    Returns:
        The demonstrations and each episode's return (noisy, so below the expert's).
    """
    rng = np.random.default_rng(int(seeds[0]) if len(seeds) else 0)
    noise = [0.0]

    def drive(sim: CarRacingSim, frame: np.ndarray, action: np.ndarray) -> np.ndarray:
        if sim.steps % noise_hold == 0:
            noise[0] = float(rng.normal(0.0, steer_noise)) if steer_noise > 0 else 0.0
        executed = action.copy()
        executed[0] = np.clip(executed[0] + noise[0], -1.0, 1.0)
        return executed

    return _record(seeds, "expert episodes", skip_frames, drive)


def record_dagger_demos(
    runner,
    seeds: Sequence[int],
    skip_frames: int = 0,
    beta: float = 0.0,
    steer_noise: float = 0.0,
    noise_hold: int = 8,
) -> tuple[Demonstrations, list[float]]:
    """DAgger: ``runner`` (a ``PolicyRunner``) drives one episode per seed, the expert
    labels every frame. Returns the demonstrations and the executed driving's returns.

    Args:
        beta: chance that a step executes the expert's action instead of the policy's
            (Ross et al.'s mixture; decayed over rounds, 0 = the policy alone).
        steer_noise: std of steering noise added to the executed action (held
            ``noise_hold`` steps), to visit states off the driven line.
    """
    from .commands import twist_values_to_action
    from .sim import FRAME_PERIOD_S

    if not 0.0 <= beta <= 1.0 or steer_noise < 0:
        raise ValueError(f"beta must be in [0, 1] and steer noise >= 0, got {beta}, {steer_noise}")
    rng = np.random.default_rng(int(seeds[0]) if len(seeds) else 0)
    noise = [0.0]

    def drive(sim: CarRacingSim, frame: np.ndarray, action: np.ndarray) -> np.ndarray:
        command = runner(frame, sim.steps * FRAME_PERIOD_S)  # every frame: its limiter state
        executed = twist_values_to_action(command.linear_x, command.angular_z)
        if beta > 0 and rng.random() < beta:
            executed = action.copy()
        if sim.steps % noise_hold == 0:
            noise[0] = float(rng.normal(0.0, steer_noise)) if steer_noise > 0 else 0.0
        executed[0] = np.clip(executed[0] + noise[0], -1.0, 1.0)
        return executed

    return _record(seeds, "DAgger episodes", skip_frames, drive, runner.reset)


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
