"""``seg-perception train-motion --config config/motion/<name>.yaml --fold a``."""

from __future__ import annotations

import argparse

from .davis_args import add_fold_training_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_fold_training_arguments(parser, "motion YAML (config/motion/*.yaml)")


def run(args: argparse.Namespace) -> int:
    from ..data import resolve_data_root
    from ..training.motion_config import load_motion_config
    from ..training.train_motion import train_motion

    config = load_motion_config(
        args.config, out_dir=args.out_dir, epochs=args.epochs, frame_limit=args.frame_limit
    )
    config.training_sequences(args.fold)  # an unknown fold fails before any work
    final = train_motion(
        config, resolve_data_root(args.data_root), args.fold, args.resume, args.device
    )
    print(f"final checkpoint: {final}")
    return 0
