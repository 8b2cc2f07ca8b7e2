"""Actions and ``geometry_msgs/Twist`` commands, and the command limiter.

Mapping (documented in the README):
- ``angular.z`` in [-1, 1] is the steering command; positive turns left (REP 103,
  counter-clockwise), so CarRacing's ``steer = -angular.z``.
- ``linear.x`` in [-1, 1]: positive is gas (``gas = linear.x``), negative is brake
  (``brake = -linear.x``). Values are normalised commands, not m/s.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["action_to_twist_values", "twist_values_to_action", "CommandLimiter", "LimiterConfig"]


def action_to_twist_values(action: np.ndarray) -> tuple[float, float]:
    """``[steer, gas, brake]`` -> ``(linear.x, angular.z)``; gas and brake net out."""
    steer, gas, brake = (float(v) for v in action)
    return float(np.clip(gas - brake, -1.0, 1.0)), float(np.clip(-steer, -1.0, 1.0))


def twist_values_to_action(linear_x: float, angular_z: float) -> np.ndarray:
    """``(linear.x, angular.z)`` -> CarRacing's ``[steer, gas, brake]`` (clipped)."""
    throttle = float(np.clip(linear_x, -1.0, 1.0))
    return np.array(
        [float(np.clip(-angular_z, -1.0, 1.0)), max(throttle, 0.0), max(-throttle, 0.0)]
    )


@dataclass
class LimiterConfig:
    max_steer: float = 1.0  # |angular.z| cap
    max_forward: float = 1.0  # linear.x cap (gas)
    max_reverse: float = 1.0  # -linear.x cap (brake)
    steer_rate: float = 15.0  # largest change of angular.z per second of frame time
    throttle_rate: float = 15.0  # largest change of linear.x per second
    max_dt: float = 0.25  # a larger gap between frames restarts the limiter


class CommandLimiter:
    """Caps magnitude and rate of change of ``(linear.x, angular.z)``.

    The rate limit uses the time between the frames the commands answer (their
    stamps), so that it behaves the same in lock-step simulation, in replay and live.
    """

    def __init__(self, config: LimiterConfig | None = None):
        self.config = config or LimiterConfig()
        self._last: tuple[float, float, float] | None = None  # (stamp, linear, angular)

    def reset(self) -> None:
        self._last = None

    def __call__(self, stamp_s: float, linear_x: float, angular_z: float) -> tuple[float, float]:
        c = self.config
        linear = float(np.clip(linear_x, -c.max_reverse, c.max_forward))
        angular = float(np.clip(angular_z, -c.max_steer, c.max_steer))
        if self._last is not None:
            dt = stamp_s - self._last[0]
            if 0.0 < dt <= c.max_dt:
                linear = float(
                    np.clip(
                        linear,
                        self._last[1] - c.throttle_rate * dt,
                        self._last[1] + c.throttle_rate * dt,
                    )
                )
                angular = float(
                    np.clip(
                        angular,
                        self._last[2] - c.steer_rate * dt,
                        self._last[2] + c.steer_rate * dt,
                    )
                )
        self._last = (stamp_s, linear, angular)
        return linear, angular
