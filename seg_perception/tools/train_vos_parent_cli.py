"""``seg-perception train-vos-parent --config config/vos/parent_davis.yaml --fold a``."""

from __future__ import annotations

import argparse

from .davis_args import add_fold_training_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_fold_training_arguments(parser, "VOS parent YAML (config/vos/parent_davis.yaml)")


def run(args: argparse.Namespace) -> int:
    from ..data import resolve_data_root
    from ..training.train_vos_parent import train_vos_parent
    from ..training.vos_config import load_vos_parent_config

    config = load_vos_parent_config(
        args.config, out_dir=args.out_dir, epochs=args.epochs, frame_limit=args.frame_limit
    )
    config.training_sequences(args.fold)  # an unknown fold fails before any work
    final = train_vos_parent(
        config, resolve_data_root(args.data_root), args.fold, args.resume, args.device
    )
    print(f"final checkpoint: {final}")
    return 0
