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
    Stamps cannot be trusted to bypass it: given ``now_s`` (the receiving clock), a stamp
    that does not advance, goes back or jumps ahead while frames keep arriving is
    replaced by the clock's time since the last frame; only a pause in both restarts
    the limit. Without ``now_s`` a frozen or backward stamp allows no change at all.
    """

    def __init__(self, config: LimiterConfig | None = None):
        self.config = config or LimiterConfig()
        self._last: tuple[float, float, float] | None = None  # (stamp, linear, angular)
        self._last_now: float | None = None

    def reset(self) -> None:
        self._last = None
        self._last_now = None

    def _elapsed(self, stamp_s: float, now_s: float | None) -> float | None:
        """Seconds the rate limit may use since the last command; None: restart."""
        c = self.config
        stamp_dt = stamp_s - self._last[0]
        if 0.0 < stamp_dt <= c.max_dt:
            return stamp_dt
        clock_dt = None if now_s is None or self._last_now is None else now_s - self._last_now
        if stamp_dt > c.max_dt and (clock_dt is None or clock_dt > c.max_dt):
            return None  # a real pause: start again from the new command
        return min(max(clock_dt or 0.0, 0.0), c.max_dt)

    def __call__(
        self, stamp_s: float, linear_x: float, angular_z: float, now_s: float | None = None
    ) -> tuple[float, float]:
        c = self.config
        linear = float(np.clip(linear_x, -c.max_reverse, c.max_forward))
        angular = float(np.clip(angular_z, -c.max_steer, c.max_steer))
        if self._last is not None:
            dt = self._elapsed(stamp_s, now_s)
            if dt is not None:
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
        self._last_now = now_s
        return linear, angular
