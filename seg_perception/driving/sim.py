"""CarRacing-v3 behind a small interface: seeded episodes, frames, labels, progress."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .conditions import DriveCondition
from .sim_labels import render_labels

__all__ = ["CarRacingSim", "StepResult", "FRAME_PERIOD_S", "MAX_EPISODE_STEPS"]

FRAME_PERIOD_S = 1.0 / 50.0  # the environment integrates at 50 Hz
MAX_EPISODE_STEPS = 1000  # CarRacing-v3's time limit


@dataclass
class StepResult:
    frame: np.ndarray  # (96, 96, 3) uint8 RGB
    reward: float
    episode_return: float
    done: bool
    lap_finished: bool


class CarRacingSim:
    """One CarRacing-v3 environment (headless, default colours, continuous actions).

    Actions are ``[steer, gas, brake]``: steer in [-1, 1] (-1 full left), gas and brake
    in [0, 1]. An episode ends when the lap is complete, the car leaves the playfield,
    or after ``MAX_EPISODE_STEPS`` steps. ``condition`` (test time only) recolours the
    world, alters the frames returned or overrides the steering (``conditions``).
    """

    def __init__(self, condition: DriveCondition | None = None) -> None:
        import gymnasium as gym

        self._env = gym.make("CarRacing-v3", max_episode_steps=MAX_EPISODE_STEPS)
        self.condition = condition or DriveCondition()
        self.frame: np.ndarray | None = None
        self.episode_return = 0.0
        self.steps = 0
        self.seed = 0
        self.done = True

    @property
    def unwrapped(self):
        """The raw ``CarRacing`` object (track, car) the expert and the labels read."""
        return self._env.unwrapped

    def reset(self, seed: int) -> np.ndarray:
        """Start the episode of track ``seed``; returns its first frame."""
        for name, value in self.condition.colours(int(seed)).items():
            setattr(self.unwrapped, name, value)
        frame, _ = self._env.reset(seed=int(seed))
        self.seed, self.episode_return, self.steps, self.done = int(seed), 0.0, 0, False
        self.frame = self.condition.frame(frame, self.seed, 0)
        return self.frame

    def step(self, action: np.ndarray) -> StepResult:
        if self.done:
            raise RuntimeError("the episode is over: reset first")
        action = np.array(action, dtype=np.float64)
        override = self.condition.steer_override(self.steps)
        if override is not None:
            action[0] = override
        low, high = np.array([-1.0, 0.0, 0.0]), np.array([1.0, 1.0, 1.0])
        frame, reward, terminated, truncated, info = self._env.step(np.clip(action, low, high))
        self.steps += 1
        self.frame = frame = self.condition.frame(frame, self.seed, self.steps)
        self.episode_return += float(reward)
        self.done = bool(terminated or truncated)
        return StepResult(
            frame, float(reward), self.episode_return, self.done, bool(info.get("lap_finished"))
        )

    def labels(self) -> np.ndarray:
        """Ground-truth (96, 96) class ids of the current frame (``DRIVING_CLASSES``)."""
        return render_labels(self.unwrapped)

    @property
    def progress(self) -> float:
        """Fraction of the track's tiles visited this episode, in [0, 1]."""
        env = self.unwrapped
        return env.tile_visited_count / max(len(env.track), 1)

    @property
    def speed(self) -> float:
        velocity = self.unwrapped.car.hull.linearVelocity
        return float(np.hypot(velocity[0], velocity[1]))

    def close(self) -> None:
        self._env.close()
