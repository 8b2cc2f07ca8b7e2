"""``seg-perception train --config config/train/<name>.yaml [--data-root D] [--resume]``."""

from __future__ import annotations

import argparse

from ..data import resolve_data_root
from .arg_types import positive_int


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="training YAML (config/train/*.yaml)")
    parser.add_argument("--data-root", help="folder holding camvid/ (else $SEG_PERCEPTION_DATA)")
    parser.add_argument("--resume", action="store_true", help="continue from OUT_DIR/last.pt")
    parser.add_argument("--out-dir", help="override the config's out_dir")
    parser.add_argument("--epochs", type=positive_int, help="override the config's epochs")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda[:N]")


def run(args: argparse.Namespace) -> int:
    from ..training.config import load_train_config
    from ..training.train_segmentation import train

    config = load_train_config(args.config, out_dir=args.out_dir, epochs=args.epochs)
    best = train(config, resolve_data_root(args.data_root), resume=args.resume, device=args.device)
    print(f"best checkpoint: {best}")
    return 0
