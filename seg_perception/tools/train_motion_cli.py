"""``seg-perception train-motion --config config/motion/<name>.yaml --fold a``."""

from __future__ import annotations

import argparse

from .davis_args import add_fold_training_arguments, run_fold_training


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_fold_training_arguments(parser, "motion YAML (config/motion/*.yaml)")


def run(args: argparse.Namespace) -> int:
    from ..training.motion_config import load_motion_config
    from ..training.train_motion import train_motion

    return run_fold_training(args, load_motion_config, train_motion)
