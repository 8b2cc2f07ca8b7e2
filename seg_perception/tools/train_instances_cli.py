"""``seg-perception train-instances --config config/instances/maskrcnn_camvid.yaml``."""

from __future__ import annotations

import argparse

from .arg_types import positive_int
from .train_args import add_training_flags, config_overrides, report_checkpoint


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_training_flags(
        parser,
        ("--config", {"help": "instance YAML (config/instances/*.yaml)"}),
        ("--data-root", {"help": "folder holding camvid/ (else $SEG_PERCEPTION_DATA)"}),
        "--resume",
        "--out-dir",
        "--epochs",
        ("--train-limit", {"type": positive_int, "help": "train on the first N frames (smoke)"}),
        "--device",
    )


def run(args: argparse.Namespace) -> int:
    from ..data import resolve_data_root
    from ..training.instance_config import load_instance_config
    from ..training.train_instances import train_instances

    overrides = config_overrides(args, "out_dir", "epochs", "train_limit")
    config = load_instance_config(args.config, **overrides)
    final = train_instances(config, resolve_data_root(args.data_root), args.resume, args.device)
    return report_checkpoint(final)
