"""The scripted expert: pure pursuit on the track centre line, speed set by curvature.

It reads the track geometry and the car's pose from the environment (privileged
state the learned policy never sees) and returns ``[steer, gas, brake]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["PurePursuitExpert", "ExpertGains"]


@dataclass(frozen=True)
class ExpertGains:
    lookahead_base: float = 8.0  # m ahead on the centre line at standstill
    lookahead_per_speed: float = 0.18  # extra lookahead per unit of speed
    steer_gain: float = 1.5  # steer per radian of heading error to the target
    max_speed: float = 130.0  # on straights
    lateral_accel: float = 170.0  # bend speed = sqrt(lateral_accel / curvature)
    braking_accel: float = 120.0  # deceleration the speed plan assumes before bends
    # m of track ahead the speed plan looks at: about what the camera shows ahead of the
    # car (37 m), so that a policy imitating the expert can see why it brakes
    plan_distance: float = 40.0
    brake_margin: float = 4.0  # brake when this much faster than the plan
    max_gas: float = 1.0  # the gas is still cut while steering (below)
    gas_steer_cut: float = 0.9  # gas is scaled by (1 - gas_steer_cut * |steer|)


class PurePursuitExpert:
    """Pure pursuit steering and curvature-based speed control for ``CarRacingSim``."""

    def __init__(self, gains: ExpertGains | None = None):
        self.gains = gains or ExpertGains()
        self._track_id = None

    def _load_track(self, env) -> None:
        points = np.array([(x, y) for _, _, x, y in env.track], dtype=np.float64)
        segment = np.linalg.norm(np.diff(points, axis=0, append=points[:1]), axis=1)
        headings = np.array([beta for _, beta, _, _ in env.track])
        self._points, self._step = points, float(np.median(segment))
        turn = np.diff(np.unwrap(headings), append=np.unwrap(headings)[:1])
        turn = np.abs((turn + np.pi) % (2 * np.pi) - np.pi)
        turn[-1] = 0.0
        # curvature (1/m) over three segments, and the fastest speed each point allows
        curvature = np.convolve(np.r_[turn[-1:], turn, turn[:1]], np.ones(3) / 3, "valid")
        curvature /= self._step
        g = self.gains
        self._bend_speed = np.minimum(
            g.max_speed, np.sqrt(g.lateral_accel / np.maximum(curvature, 1e-6))
        )
        self._track_id = id(env.track)
        self._index = None

    def _nearest(self, position: np.ndarray) -> int:
        """Closest centre-line point, searched just around the last one: the track can
        pass close to itself, and a global search would jump to the other pass."""
        n = len(self._points)
        if self._index is None:
            candidates = np.arange(n)
        else:
            candidates = (self._index + np.arange(-10, 40)) % n
        distances = np.linalg.norm(self._points[candidates] - position, axis=1)
        self._index = int(candidates[int(np.argmin(distances))])
        return self._index

    def action(self, env) -> np.ndarray:
        """``[steer, gas, brake]`` for the car's current state (``env`` unwrapped)."""
        if self._track_id != id(env.track):
            self._load_track(env)
        g = self.gains
        car = env.car.hull
        position = np.array(car.position, dtype=np.float64)
        forward = np.array(car.GetWorldVector((0.0, 1.0)), dtype=np.float64)
        speed = float(np.hypot(*car.linearVelocity))
        n = len(self._points)
        nearest = self._nearest(position)
        ahead = round((g.lookahead_base + g.lookahead_per_speed * speed) / self._step)
        target = self._points[(nearest + max(ahead, 1)) % n]
        to_target = target - position
        # heading error: positive when the target is to the left (counter-clockwise)
        cross = forward[0] * to_target[1] - forward[1] * to_target[0]
        error = float(np.arctan2(cross, float(np.dot(forward, to_target))))
        steer = float(np.clip(-g.steer_gain * error, -1.0, 1.0))
        # the fastest speed from which every bend ahead can still be braked for
        window = np.arange(max(1, round(g.plan_distance / self._step)))
        reachable = np.sqrt(
            self._bend_speed[(nearest + window) % n] ** 2
            + 2 * g.braking_accel * self._step * window
        )
        target_speed = float(reachable.min())
        gas = float(np.clip(0.1 * (target_speed - speed), 0.0, g.max_gas))
        gas *= 1.0 - g.gas_steer_cut * abs(steer)
        brake = float(np.clip(0.05 * (speed - target_speed - g.brake_margin), 0.0, 0.8))
        return np.array([steer, gas, brake])
