"""``seg-perception train-policy --config config/driving/policy.yaml``."""

from __future__ import annotations

import argparse

from .arg_types import finite_float
from .train_args import add_training_flags, config_overrides, report_checkpoint


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_training_flags(
        parser,
        ("--config", {"help": "policy YAML (config/driving/*.yaml)"}),
        ("--demos", {"nargs": "+", "help": "override the config's demonstration files"}),
        ("--seg-weight", {"type": finite_float, "help": "override lambda (0 = no aux loss)"}),
        "--seed",
        "--epochs",
        "--out-dir",
        "--resume",
        "--device",
    )


def run(args: argparse.Namespace) -> int:
    from ..training.policy_config import load_policy_config
    from ..training.train_policy import train_policy

    overrides = config_overrides(args, "demos", "seg_weight", "seed", "epochs", "out_dir")
    config = load_policy_config(args.config, **overrides)
    return report_checkpoint(train_policy(config, args.resume, args.device))
