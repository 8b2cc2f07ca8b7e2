"""Closed-loop evaluation of a driving policy in CarRacing-v3 on fixed seeds.

``evaluate_in_process`` steps the simulator and the policy in one process.
``evaluate_through_ros`` starts ``sim_bridge_node`` (lock-step) and ``policy_node`` as
processes and reads the returns from the bridge's ``~/episode`` topic. Both feed the
policy the same frames with the same stamps (simulated time) through the same
``PolicyRunner``, so they agree up to floating-point thread effects.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

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
    "evaluate_through_ros",
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


def evaluate_through_ros(
    checkpoint: str | Path,
    seeds: Sequence[int],
    log_dir: Path,
    timeout_per_episode: float = 180.0,
) -> list[EpisodeResult]:
    """Run the episodes through ``sim_bridge_node`` and ``policy_node`` processes.

    Seeds must be consecutive (the bridge drives ``seed, seed + 1, ...``).
    """
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from std_msgs.msg import Float64MultiArray

    from ..nodes.ros_graph import NodeProcess, isolated_ros_env, spin_until
    from ..nodes.sim_bridge_node import EPISODE_FIELDS

    seeds = list(seeds)
    if seeds != list(range(seeds[0], seeds[0] + len(seeds))):
        raise ValueError("through ROS the seeds must be consecutive")
    log_dir.mkdir(parents=True, exist_ok=True)
    finished: list[EpisodeResult] = []
    with isolated_ros_env() as env:
        bridge_args = [
            "-p",
            f"seed:={seeds[0]}",
            "-p",
            f"episodes:={len(seeds)}",
            "-p",
            "step_mode:=lock_step",
            "-p",
            "publish_labels:=false",
        ]
        policy_args = [
            "-p",
            f"checkpoint:={checkpoint}",
            # the in-process path's runtime: a closed loop amplifies the last-bit
            # differences between runtimes into other trajectories
            "-p",
            "inference_backend:=torch",
            "-r",
            "image:=/sim_bridge_node/image",
        ]
        context = rclpy.Context()  # its own: the caller may hold the default one
        rclpy.init(context=context)
        node = rclpy.create_node("drive_eval", context=context)
        executor = SingleThreadedExecutor(context=context)
        executor.add_node(node)

        def on_episode(msg: Float64MultiArray) -> None:
            row = dict(zip(EPISODE_FIELDS, msg.data, strict=True))
            if row["done"]:
                finished.append(
                    EpisodeResult(
                        int(row["seed"]),
                        row["return"],
                        int(row["steps"]),
                        row["progress"],
                        bool(row["lap_finished"]),
                    )
                )
                progress.update(1)

        node.create_subscription(
            Float64MultiArray,
            "/sim_bridge_node/episode",
            on_episode,
            QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE),
        )
        progress = tqdm(total=len(seeds), desc="episodes through ROS", dynamic_ncols=True)
        try:
            with NodeProcess(
                "policy_node", policy_args, env, log_dir / "policy_node.log"
            ) as policy:
                # the policy subscribes first so the bridge's first frame finds it
                time.sleep(3.0)
                with NodeProcess(
                    "sim_bridge_node", bridge_args, env, log_dir / "bridge.log"
                ) as bridge:
                    deadline = timeout_per_episode * len(seeds)
                    ok = spin_until(
                        executor,
                        lambda: (
                            len(finished) >= len(seeds) or not (bridge.alive() and policy.alive())
                        ),
                        deadline,
                    )
                    if not ok or len(finished) < len(seeds):
                        raise RuntimeError(
                            f"only {len(finished)} of {len(seeds)} episodes finished through "
                            f"ROS; logs in {log_dir}"
                        )
        finally:
            progress.close()
            executor.shutdown()
            node.destroy_node()
            rclpy.try_shutdown(context=context)
    return finished
