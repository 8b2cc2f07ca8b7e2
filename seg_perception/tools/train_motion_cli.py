"""``seg-perception train-motion --config config/motion/<name>.yaml --fold a``."""

from __future__ import annotations

import argparse

from .arg_types import positive_int


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="motion YAML (config/motion/*.yaml)")
    parser.add_argument("--fold", required=True, help="fold to train on (the other is tested)")
    parser.add_argument(
        "--data-root", help="folder holding davis2016/ (else $SEG_PERCEPTION_DATA)"
    )
    parser.add_argument("--resume", action="store_true", help="continue from OUT/fold_F/last.pt")
    parser.add_argument("--out-dir", help="override the config's out_dir")
    parser.add_argument("--epochs", type=positive_int, help="override the config's epochs")
    parser.add_argument(
        "--frame-limit", type=positive_int, help="frames per sequence (smoke runs)"
    )
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda[:N]")


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
