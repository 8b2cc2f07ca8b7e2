"""``seg-perception train-instances --config config/instances/maskrcnn_camvid.yaml``."""

from __future__ import annotations

import argparse

from .arg_types import positive_int


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="instance YAML (config/instances/*.yaml)")
    parser.add_argument("--data-root", help="folder holding camvid/ (else $SEG_PERCEPTION_DATA)")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    parser.add_argument("--out-dir", help="override the config's out_dir")
    parser.add_argument("--epochs", type=positive_int, help="override the config's epochs")
    parser.add_argument(
        "--train-limit", type=positive_int, help="train on the first N frames (smoke)"
    )
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda[:N]")


def run(args: argparse.Namespace) -> int:
    from ..data import resolve_data_root
    from ..training.instance_config import load_instance_config
    from ..training.train_instances import train_instances

    config = load_instance_config(
        args.config, out_dir=args.out_dir, epochs=args.epochs, train_limit=args.train_limit
    )
    final = train_instances(config, resolve_data_root(args.data_root), args.resume, args.device)
    print(f"final checkpoint: {final}")
    return 0
