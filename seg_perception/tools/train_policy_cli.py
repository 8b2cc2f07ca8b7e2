"""``seg-perception train-policy --config config/driving/policy.yaml``."""

from __future__ import annotations

import argparse

from .arg_types import finite_float, positive_int


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="policy YAML (config/driving/*.yaml)")
    parser.add_argument("--demos", nargs="+", help="override the config's demonstration files")
    parser.add_argument(
        "--seg-weight", type=finite_float, help="override lambda (0 = no aux loss)"
    )
    parser.add_argument("--seed", type=int, help="override the config's seed")
    parser.add_argument("--epochs", type=positive_int, help="override the config's epochs")
    parser.add_argument("--out-dir", help="override the config's out_dir")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda[:N]")


def run(args: argparse.Namespace) -> int:
    from ..training.policy_config import load_policy_config
    from ..training.train_policy import train_policy

    config = load_policy_config(
        args.config,
        demos=args.demos,
        seg_weight=args.seg_weight,
        seed=args.seed,
        epochs=args.epochs,
        out_dir=args.out_dir,
    )
    final = train_policy(config, args.resume, args.device)
    print(f"final checkpoint: {final}")
    return 0
