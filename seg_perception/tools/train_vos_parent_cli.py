"""``seg-perception train-vos-parent --config config/vos/parent_davis.yaml --fold a``."""

from __future__ import annotations

import argparse

from .davis_args import add_fold_training_arguments, run_fold_training


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_fold_training_arguments(parser, "VOS parent YAML (config/vos/parent_davis.yaml)")


def run(args: argparse.Namespace) -> int:
    from ..training.train_vos_parent import train_vos_parent
    from ..training.vos_config import load_vos_parent_config

    return run_fold_training(args, load_vos_parent_config, train_vos_parent)
