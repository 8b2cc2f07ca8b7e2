"""``evaluate_through_ros``: a driving policy's episodes through ``sim_bridge_node``
(lock-step) and ``policy_node`` processes, the returns read from the bridge's
``~/episode`` topic (``drive-eval --through ros``); ``driving.drive_eval`` runs the
same episodes in one process."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import QoSProfile, ReliabilityPolicy
from std_msgs.msg import Float64MultiArray
from tqdm import tqdm

from ..driving.drive_eval import EpisodeResult
from .ros_graph import NodeProcess, isolated_ros_env, spin_until
from .sim_bridge_node import EPISODE_FIELDS

__all__ = ["evaluate_through_ros"]

LOCK_STEP_STALE_TIMEOUT_S = 1e9  # the policy's camera watchdog never fires in an evaluation


def evaluate_through_ros(
    checkpoint: str | Path,
    seeds: Sequence[int],
    log_dir: Path,
    timeout_per_episode: float = 180.0,
) -> list[EpisodeResult]:
    """Run the episodes through ``sim_bridge_node`` and ``policy_node`` processes.

    Seeds must be consecutive (the bridge drives ``seed, seed + 1, ...``).
    """
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
            # no stale-camera zero commands: in lock step every cmd_vel steps the
            # simulator, and the zeros sent before the first frame (or while a frame is
            # resent) stepped it with no policy's answer (a return of 803 against 890)
            "-p",
            f"stale_timeout:={LOCK_STEP_STALE_TIMEOUT_S}",
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
