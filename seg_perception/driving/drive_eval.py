"""Closed-loop evaluation of a driving policy (or the expert) in CarRacing-v3.

``evaluate`` drives one episode per seed under a test condition (``conditions``), in
this process or spread over ``workers`` processes (episodes are independent; results
come back in seed order). ``nodes.drive_eval_ros.evaluate_through_ros`` does the same
through the nodes; both feed the policy the same frames with the same stamps
(simulated time) through the same ``PolicyRunner``, so they agree up to floating-point
thread effects.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .commands import twist_values_to_action
from .conditions import DriveCondition
from .episode_stats import score_summary
from .sim import FRAME_PERIOD_S, CarRacingSim

__all__ = [
    "EpisodeResult",
    "DEFAULT_EVAL_SEED",
    "Driver",
    "evaluate",
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


@dataclass(frozen=True)
class Driver:
    """Who drives: the expert (with ``expert_gains`` changed from the defaults), or the
    policy in ``checkpoint`` on ``backend`` (torch, onnxruntime or openvino; CPU threads)."""

    checkpoint: str | None = None  # None: the scripted expert
    threads: int = 1
    backend: str = "torch"
    expert_gains: tuple[tuple[str, float], ...] = ()

    @property
    def name(self) -> str:
        return "expert" if self.checkpoint is None else "policy"


def _episode(sim: CarRacingSim, seed: int, act: Callable, reset: Callable) -> EpisodeResult:
    frame = sim.reset(seed)
    reset()
    result = None
    while not sim.done:
        result = sim.step(act(frame, sim.steps * FRAME_PERIOD_S))
        frame = result.frame
    return EpisodeResult(seed, result.episode_return, sim.steps, sim.progress, result.lap_finished)


class _Episodes:
    """A simulator and a driver, built once per process, driving seed after seed."""

    def __init__(self, sim: CarRacingSim, act: Callable, reset: Callable[[], None]):
        self.sim, self.act, self.reset = sim, act, reset

    @classmethod
    def of(cls, driver: Driver, condition: DriveCondition) -> _Episodes:
        if driver.checkpoint is not None:
            import torch

            from .policy_runner import PolicyRunner, compile_policy, load_policy

            torch.set_num_threads(max(1, driver.threads))
            model, _ = load_policy(Path(driver.checkpoint))
            network = None
            if driver.backend != "torch":
                network = compile_policy(
                    model,
                    driver.checkpoint,
                    96,
                    driver.backend,
                    False,
                    torch.device("cpu"),
                    driver.threads,
                )
            return cls.with_runner(PolicyRunner(model, device="cpu", network=network), condition)
        from .expert import ExpertGains, PurePursuitExpert

        gains = ExpertGains(**dict(driver.expert_gains))
        sim, expert = CarRacingSim(condition), PurePursuitExpert(gains)
        return cls(sim, lambda frame, stamp: expert.action(sim.unwrapped), lambda: None)

    @classmethod
    def with_runner(cls, runner, condition: DriveCondition) -> _Episodes:
        """A ``PolicyRunner`` drives; its limited commands mapped as the bridge maps them."""

        def act(frame: np.ndarray, stamp: float) -> np.ndarray:
            command = runner(frame, stamp)
            return twist_values_to_action(command.linear_x, command.angular_z)

        return cls(CarRacingSim(condition), act, runner.reset)

    def __call__(self, seed: int) -> EpisodeResult:
        return _episode(self.sim, seed, self.act, self.reset)

    def drive(self, seeds: Sequence[int], desc: str) -> list[EpisodeResult]:
        try:
            return [self(seed) for seed in tqdm(seeds, desc=desc, dynamic_ncols=True)]
        finally:
            self.sim.close()


_WORKER: _Episodes | Exception | None = None


def _start_worker(driver: Driver, condition: DriveCondition) -> None:
    """A pool initializer that raised would be restarted forever: keep the error and
    raise it from the first episode instead, which ends the evaluation."""
    global _WORKER
    try:
        _WORKER = _Episodes.of(driver, condition)
    except Exception as error:  # re-raised by the first episode
        _WORKER = error


def _worker_episode(seed: int) -> EpisodeResult:
    if isinstance(_WORKER, Exception):
        raise _WORKER
    return _WORKER(seed)


def evaluate(
    driver: Driver,
    seeds: Sequence[int],
    condition: DriveCondition | None = None,
    workers: int = 1,
) -> list[EpisodeResult]:
    """One episode per seed under ``condition``, in seed order."""
    condition = condition or DriveCondition()
    desc = f"{driver.name} episodes ({condition.name})"
    if workers <= 1 or len(seeds) <= 1:
        return _Episodes.of(driver, condition).drive(seeds, desc)
    import multiprocessing

    context = multiprocessing.get_context("spawn")  # no forked torch or pygame state
    with context.Pool(min(workers, len(seeds)), _start_worker, (driver, condition)) as pool:
        results = list(
            tqdm(pool.imap_unordered(_worker_episode, seeds), total=len(seeds), desc=desc)
        )
    order = {seed: index for index, seed in enumerate(seeds)}
    return sorted(results, key=lambda r: order[r.seed])


def evaluate_in_process(runner, seeds: Sequence[int]) -> list[EpisodeResult]:
    """One episode per seed with an already built ``PolicyRunner`` (clean condition)."""
    return _Episodes.with_runner(runner, DriveCondition()).drive(seeds, "policy episodes")


def evaluate_expert(seeds: Sequence[int], workers: int = 1) -> list[EpisodeResult]:
    """The scripted expert (privileged track state) on the same seeds."""
    return evaluate(Driver(), seeds, workers=workers)


def summarize(results: Sequence[EpisodeResult]) -> dict:
    """Mean, interquartile mean, bootstrap interval, tiles and laps, and every episode."""
    return {
        **score_summary(
            [r.episode_return for r in results],
            [r.progress for r in results],
            [r.lap_finished for r in results],
        ),
        "per_episode": [asdict(r) for r in results],
    }
