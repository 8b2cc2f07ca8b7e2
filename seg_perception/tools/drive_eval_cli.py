"""``seg-perception drive-eval [--checkpoint C | --expert] [--tracks heldout]
[--condition clean colour ...] [--workers N] [--through process|ros|both]``."""

from __future__ import annotations

import argparse

from .arg_types import positive_int, thread_count

CONDITION_HELP = (
    "test-time conditions, one score each: clean, colour (road and grass recoloured), "
    "domain_randomize, noise (pixel noise), occluder (a block over the frame), pulse "
    "(steering pulses; laps finished = recoveries)"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", help="policy checkpoint (default: the bundled one)")
    parser.add_argument(
        "--expert", action="store_true", help="score the scripted expert instead of a policy"
    )
    parser.add_argument(
        "--expert-gains",
        nargs="+",
        default=[],
        metavar="NAME=VALUE",
        help="with --expert: gains changed from ExpertGains' defaults (tuning)",
    )
    parser.add_argument(
        "--tracks",
        help="heldout (the 100 committed held-out tracks), heldout:N (the first N) or "
        "FIRST-LAST; default: --episodes from --first-seed",
    )
    parser.add_argument("--episodes", type=positive_int, help="episodes, one per seed (20)")
    parser.add_argument(
        "--first-seed", type=int, help="seeds first..first+N-1 (default 1000; demos use 0..999)"
    )
    parser.add_argument("--condition", nargs="+", default=["clean"], help=CONDITION_HELP)
    parser.add_argument(
        "--workers", type=positive_int, default=1, help="episodes in parallel (processes)"
    )
    parser.add_argument(
        "--through",
        choices=("process", "ros", "both"),
        default="process",
        help="in-process, through ROS 2 node processes (clean only), or both",
    )
    parser.add_argument(
        "--baseline",
        help="an earlier --out report: paired differences on the tracks and conditions "
        "both were scored on",
    )
    parser.add_argument("--out", help="write the results as JSON here")
    parser.add_argument(
        "--figure", help="PNG: camera, truth and the policy's segmentation on the first seed"
    )
    parser.add_argument("--log-dir", default="out/drive_eval", help="node logs (ROS runs)")
    parser.add_argument("--threads", type=thread_count, default=1, help="CPU threads per episode")
    parser.add_argument(
        "--backend",
        choices=("torch", "onnxruntime", "openvino"),
        default="torch",
        help="the policy's inference runtime in-process (the policy node's config uses torch)",
    )


def _line(name: str, summary: dict) -> str:
    low, high = summary["ci95_return"]
    return (
        f"{name}: mean return {summary['mean_return']:.1f} (95 % CI {low:.1f} to {high:.1f}), "
        f"IQM {summary['iqm_return']:.1f}, min {summary['min_return']:.1f} over "
        f"{summary['episodes']} episodes; tiles {100 * summary['tiles_completed']:.1f} %, "
        f"{summary['laps_finished']} laps finished"
    )


def _seeds(args: argparse.Namespace) -> list[int]:
    from ..driving.drive_eval import DEFAULT_EVAL_SEED
    from ..driving.tracks import parse_tracks

    if args.tracks:
        if args.episodes or args.first_seed is not None:
            raise ValueError(
                "--tracks replaces --episodes and --first-seed: give one or the other"
            )
        return parse_tracks(args.tracks)
    first = DEFAULT_EVAL_SEED if args.first_seed is None else args.first_seed
    return list(range(first, first + (args.episodes or 20)))


def _gains(pairs: list[str]) -> tuple[tuple[str, float], ...]:
    from dataclasses import fields

    from ..driving.expert import ExpertGains

    known = sorted(f.name for f in fields(ExpertGains))
    gains = []
    for pair in pairs:
        name, _, value = pair.partition("=")
        if name not in known:
            raise ValueError(f"--expert-gains: no gain {name!r}; the gains: {', '.join(known)}")
        try:
            gains.append((name, float(value)))
        except ValueError:
            raise ValueError(f"--expert-gains: {pair!r} is not NAME=NUMBER") from None
    return tuple(gains)


def _paired(report: dict, baseline_path: str) -> dict:
    import json
    from pathlib import Path

    from ..driving.episode_stats import paired_difference

    baseline = json.loads(Path(baseline_path).read_text()).get("conditions", {})
    paired = {}
    for name, summary in report["conditions"].items():
        if name not in baseline:
            continue
        scores = [
            {e["seed"]: e["episode_return"] for e in s["per_episode"]}
            for s in (baseline[name], summary)
        ]
        paired[name] = paired_difference(*scores)
    if not paired:
        raise ValueError(f"{baseline_path} scored none of these conditions")
    return paired


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..checkpoint import POLICY_CHECKPOINT
    from ..driving.conditions import DriveCondition
    from ..driving.drive_eval import Driver, evaluate, summarize
    from ..io_utils import write_json
    from .machine import describe_machine

    seeds = _seeds(args)
    conditions = [DriveCondition(name) for name in args.condition]
    checkpoint = None if args.expert else Path(args.checkpoint or POLICY_CHECKPOINT)
    if checkpoint is not None and not checkpoint.is_file():
        raise FileNotFoundError(f"no policy checkpoint {checkpoint}")
    if args.expert_gains and not args.expert:
        raise ValueError("--expert-gains needs --expert")
    if args.through != "process" and (args.expert or args.condition != ["clean"]):
        raise ValueError("--through ros drives a policy under the clean condition only")
    if args.backend != "torch" and (args.expert or args.through != "process"):
        raise ValueError("--backend runs a policy in-process: not with --expert or --through ros")
    driver = Driver(
        None if checkpoint is None else str(checkpoint),
        threads=args.threads,
        expert_gains=_gains(args.expert_gains),
        backend=args.backend,
    )
    report: dict = {
        "seeds": seeds,
        "machine": describe_machine("cpu"),
        "driver": driver.name,
        "checkpoint": driver.checkpoint,
        "backend": driver.backend,
        "conditions": {},
    }
    if args.through in ("process", "both"):
        for condition in conditions:
            results = evaluate(driver, seeds, condition, args.workers)
            report["conditions"][condition.name] = summarize(results)
            print(_line(f"{driver.name}, {condition.name}", report["conditions"][condition.name]))
    if args.through in ("ros", "both"):
        from ..nodes.drive_eval_ros import evaluate_through_ros  # imports rclpy

        results = evaluate_through_ros(checkpoint, seeds, Path(args.log_dir))
        report["through_ros"] = summarize(sorted(results, key=lambda r: r.seed))
        print(_line("through ROS 2, clean", report["through_ros"]))
    if args.baseline and report["conditions"]:
        report["paired"] = _paired(report, args.baseline)
        for name, diff in report["paired"].items():
            low, high = diff["ci95_difference"]
            print(
                f"against {args.baseline}, {name}: {diff['mean_difference']:+.1f} "
                f"(95 % CI {low:+.1f} to {high:+.1f}) over {diff['tracks']} tracks, better on "
                f"{diff['second_better']}, worse on {diff['first_better']}"
            )
    if args.figure and checkpoint is not None:
        from ..driving.figure import save_driving_figure
        from ..driving.policy_runner import PolicyRunner, load_policy

        model, _ = load_policy(checkpoint)
        save_driving_figure(args.figure, PolicyRunner(model, device="cpu"), seeds[0])
        print(f"figure: {args.figure}")
    if args.out:
        write_json(args.out, report)
    return 0
