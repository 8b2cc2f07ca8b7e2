"""Closed-loop evaluation of a driving policy in CarRacing-v3 on fixed seeds.

``evaluate_in_process`` steps the simulator and the policy in one process;
``nodes.drive_eval_ros.evaluate_through_ros`` does the same through the nodes. Both
feed the policy the same frames with the same stamps (simulated time) through the same
``PolicyRunner``, so they agree up to floating-point thread effects.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
from tqdm import tqdm

from .commands import twist_values_to_action
from .policy_runner import PolicyRunner
from .sim import FRAME_PERIOD_S, CarRacingSim

__all__ = [
    "EpisodeResult",
    "DEFAULT_EVAL_SEED",
    "evaluate_in_process",
    "evaluate_expert",
    "summarize",
]

DEFAULT_EVAL_SEED = 1000  # evaluation tracks 1000, 1001, ...; demonstrations use 0..999


@dataclass
class EpisodeResult:
    seed: int
    episode_return: float
    steps: int
    progress: float
    lap_finished: bool


def _drive(sim: CarRacingSim, seeds: Sequence[int], act: Callable, reset: Callable, desc: str):
    results = []
    for seed in tqdm(seeds, desc=desc, dynamic_ncols=True):
        frame = sim.reset(seed)
        reset()
        result = None
        while not sim.done:
            result = sim.step(act(frame, sim.steps * FRAME_PERIOD_S))
            frame = result.frame
        results.append(
            EpisodeResult(
                seed, result.episode_return, sim.steps, sim.progress, result.lap_finished
            )
        )
    return results


def evaluate_in_process(runner: PolicyRunner, seeds: Sequence[int]) -> list[EpisodeResult]:
    """One episode per seed, the policy's limited commands mapped like the bridge does."""
    sim = CarRacingSim()

    def act(frame: np.ndarray, stamp: float) -> np.ndarray:
        command = runner(frame, stamp)
        return twist_values_to_action(command.linear_x, command.angular_z)

    try:
        return _drive(sim, seeds, act, runner.reset, "policy episodes")
    finally:
        sim.close()


def evaluate_expert(seeds: Sequence[int]) -> list[EpisodeResult]:
    """The scripted expert (privileged track state) on the same seeds."""
    from .expert import PurePursuitExpert

    sim, expert = CarRacingSim(), PurePursuitExpert()
    try:
        return _drive(
            sim, seeds, lambda f, s: expert.action(sim.unwrapped), lambda: None, "expert episodes"
        )
    finally:
        sim.close()


def summarize(results: Sequence[EpisodeResult]) -> dict:
    returns = np.array([r.episode_return for r in results])
    return {
        "episodes": len(results),
        "mean_return": float(returns.mean()),
        "std_return": float(returns.std()),
        "min_return": float(returns.min()),
        "laps_finished": int(sum(r.lap_finished for r in results)),
        "per_episode": [asdict(r) for r in results],
    }
