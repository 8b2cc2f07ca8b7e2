"""``seg-perception drive-eval [--checkpoint C] [--episodes N] [--through process|ros|both]``."""

from __future__ import annotations

import argparse

from .arg_types import positive_int, thread_count


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", help="policy checkpoint (default: the bundled one)")
    parser.add_argument("--episodes", type=positive_int, default=20, help="episodes, one per seed")
    parser.add_argument(
        "--first-seed",
        type=int,
        default=None,
        help="seeds first..first+N-1 (default 1000; demos use 0..999)",
    )
    parser.add_argument(
        "--through",
        choices=("process", "ros", "both"),
        default="process",
        help="in-process, through ROS 2 node processes, or both",
    )
    parser.add_argument(
        "--expert", action="store_true", help="score the scripted expert instead of a policy"
    )
    parser.add_argument("--out", help="write the results as JSON here")
    parser.add_argument(
        "--figure", help="PNG: camera, truth and the policy's segmentation on the first seed"
    )
    parser.add_argument("--log-dir", default="out/drive_eval", help="node logs (ROS runs)")
    parser.add_argument("--threads", type=thread_count, default=1, help="torch CPU threads")


def _line(name: str, summary: dict) -> str:
    return (
        f"{name}: mean return {summary['mean_return']:.1f} +- {summary['std_return']:.1f} "
        f"over {summary['episodes']} episodes (min {summary['min_return']:.1f}, "
        f"{summary['laps_finished']} laps finished)"
    )


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    import torch

    from ..checkpoint import POLICY_CHECKPOINT
    from ..driving.drive_eval import (
        DEFAULT_EVAL_SEED,
        evaluate_expert,
        evaluate_in_process,
        summarize,
    )
    from ..driving.policy_runner import PolicyRunner, load_policy
    from ..io_utils import write_json
    from .cli_parsing import UserError
    from .machine import describe_machine

    if args.episodes < 1:
        raise UserError("--episodes must be >= 1")
    torch.set_num_threads(max(1, args.threads))
    first = DEFAULT_EVAL_SEED if args.first_seed is None else args.first_seed
    seeds = list(range(first, first + args.episodes))
    report: dict = {"seeds": seeds, "machine": describe_machine("cpu")}
    if args.expert:
        report["expert"] = summarize(evaluate_expert(seeds))
        print(_line("expert", report["expert"]))
    else:
        checkpoint = Path(args.checkpoint or POLICY_CHECKPOINT)
        model, _ = load_policy(checkpoint)
        report["checkpoint"] = str(checkpoint)
        if args.through in ("process", "both"):
            report["in_process"] = summarize(
                evaluate_in_process(PolicyRunner(model, device="cpu"), seeds)
            )
            print(_line("in-process", report["in_process"]))
        if args.through in ("ros", "both"):
            from ..nodes.drive_eval_ros import evaluate_through_ros  # imports rclpy

            results = evaluate_through_ros(checkpoint, seeds, Path(args.log_dir))
            report["through_ros"] = summarize(sorted(results, key=lambda r: r.seed))
            print(_line("through ROS 2", report["through_ros"]))
    if args.figure and not args.expert:
        from ..driving.figure import save_driving_figure

        save_driving_figure(args.figure, PolicyRunner(model, device="cpu"), seeds[0])
        print(f"figure: {args.figure}")
    if args.out:
        write_json(args.out, report)
    return 0
