"""``seg-perception dagger --config C --policy START.pt [--rounds 3] [--episodes 10]``."""

from __future__ import annotations

import argparse

from .arg_types import finite_float, positive_int
from .train_args import add_training_flags, config_overrides, report_checkpoint


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_training_flags(
        parser,
        ("--config", {"help": "policy YAML: the training recipe and the starting demos"}),
        ("--seg-weight", {"type": finite_float, "help": "override lambda (0 = no aux loss)"}),
        "--seed",
        "--epochs",
        ("--out-dir", {"required": True, "help": "rounds go to OUT/round<r>"}),
    )
    parser.add_argument("--policy", required=True, help="the policy that drives round 0")
    parser.add_argument("--rounds", type=positive_int, default=3, help="DAgger rounds")
    parser.add_argument("--episodes", type=positive_int, default=10, help="tracks per round")
    parser.add_argument(
        "--first-seed", type=int, default=100, help="round r drives first + r * episodes on"
    )
    parser.add_argument(
        "--beta", type=finite_float, default=0.5, help="share of expert steps in round 0"
    )
    parser.add_argument(
        "--beta-decay", type=finite_float, default=0.5, help="beta of round r = beta * decay^r"
    )
    parser.add_argument(
        "--steer-noise", type=finite_float, default=0.1, help="executed steering noise std"
    )


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..training.dagger import DaggerPlan, run_dagger
    from ..training.policy_config import load_policy_config

    if not Path(args.policy).is_file():
        raise FileNotFoundError(f"no policy checkpoint {args.policy}")
    plan = DaggerPlan(
        args.rounds, args.episodes, args.first_seed, args.beta, args.beta_decay, args.steer_noise
    )
    overrides = config_overrides(args, "seg_weight", "seed", "epochs")
    config = load_policy_config(args.config, **overrides)
    return report_checkpoint(run_dagger(config, plan, args.policy, args.out_dir))
