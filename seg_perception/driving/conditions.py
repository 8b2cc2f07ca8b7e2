"""Test-time conditions of a driving evaluation: what changes between the track the
policy learned on and the one it is scored on (no ROS).

Every condition keeps the track of a seed (its geometry comes from the environment's
own random stream, which no condition draws from), so two policies, or one policy
under two conditions, are compared track by track:

- ``clean``: nothing changes.
- ``colour``: road, grass and background colours shifted by up to 0.2 of the range per
  RGB channel; four fixed variants, chosen by the seed.
- ``domain_randomize``: Gymnasium's CarRacing-v3 colour randomisation (road and
  background uniform in [0, 210] per channel, grass = background + 20 on one channel),
  drawn from a generator seeded by the track seed instead of the environment's stream
  (which would also change the track).
- ``noise``: Gaussian pixel noise, std ``NOISE_STD`` grey levels, seeded per track.
- ``occluder``: a fixed grey block over the frame's upper left (a dirty lens or a
  mount), off the car and the dashboard.
- ``pulse``: scripted full-lock steering pulses of ``PULSE_STEPS`` steps at fixed
  times, alternating sides, replacing the policy's steering (a gust or a bump); the
  laps still finished are the recovery rate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["CONDITIONS", "DriveCondition", "COLOUR_VARIANTS", "NOISE_STD", "PULSE_AT"]

CONDITIONS = ("clean", "colour", "domain_randomize", "noise", "occluder", "pulse")

DEFAULT_COLOURS = {  # CarRacing-v3's own (RGB, 0-255)
    "road_color": (102.0, 102.0, 102.0),
    "bg_color": (102.0, 204.0, 102.0),
    "grass_color": (102.0, 230.0, 102.0),
}
SHIFT = 0.2 * 255.0
# (road, grass and background) shift per RGB channel, in units of SHIFT
COLOUR_VARIANTS = (
    ((+1, +1, +1), (-1, -1, -1)),  # light road, dark grass
    ((-1, -1, -1), (+1, 0, +1)),  # dark road, pale grass
    ((+1, 0, -1), (0, -1, +1)),  # warm road, blue-green grass
    ((-1, 0, +1), (+1, -1, 0)),  # cool road, olive grass
)
NOISE_STD = 20.0
OCCLUDER = (slice(8, 36), slice(6, 34))  # rows, columns of the 96x96 frame
OCCLUDER_GREY = 90
PULSE_AT = (150, 400, 650)  # steps at which a pulse starts
PULSE_STEPS = 8


@dataclass(frozen=True)
class DriveCondition:
    name: str = "clean"

    def __post_init__(self) -> None:
        if self.name not in CONDITIONS:
            choices = ", ".join(CONDITIONS)
            raise ValueError(f"unknown condition {self.name!r}; choose from {choices}")

    def colours(self, seed: int) -> dict[str, np.ndarray]:
        """The environment's colour attributes to set for track ``seed`` (none: its own)."""
        colours = {k: np.array(v) for k, v in DEFAULT_COLOURS.items()}
        if self.name not in ("colour", "domain_randomize"):
            return {}
        if self.name == "colour":
            road, grass = COLOUR_VARIANTS[seed % len(COLOUR_VARIANTS)]
            colours["road_color"] = colours["road_color"] + SHIFT * np.array(road)
            for key in ("bg_color", "grass_color"):
                colours[key] = colours[key] + SHIFT * np.array(grass)
        elif self.name == "domain_randomize":
            rng = np.random.default_rng(seed)
            colours["road_color"] = rng.uniform(0, 210, size=3)
            colours["bg_color"] = rng.uniform(0, 210, size=3)
            colours["grass_color"] = colours["bg_color"].copy()
            colours["grass_color"][rng.integers(3)] += 20
        return {k: np.clip(v, 0.0, 255.0) for k, v in colours.items()}

    def frame(self, frame: np.ndarray, seed: int, step: int) -> np.ndarray:
        """The camera frame the policy sees at ``step`` of track ``seed``."""
        if self.name == "noise":
            rng = np.random.default_rng((seed, step))
            noisy = frame.astype(np.float32) + rng.normal(0.0, NOISE_STD, frame.shape)
            return np.clip(noisy, 0, 255).astype(np.uint8)
        if self.name == "occluder":
            frame = frame.copy()
            frame[OCCLUDER] = OCCLUDER_GREY
        return frame

    def steer_override(self, step: int) -> float | None:
        """The steering that replaces the driver's at ``step`` (``pulse``), else None."""
        if self.name != "pulse":
            return None
        for index, start in enumerate(PULSE_AT):
            if start <= step < start + PULSE_STEPS:
                return 1.0 if index % 2 == 0 else -1.0
        return None
