"""``seg-perception train --config config/train/<name>.yaml [--data SPEC] [--init bundled]``.

Without ``--data`` the model trains on CamVid under the data root; with it, on the
dataset a spec describes (its classes become the checkpoint's). ``--init`` starts from a
checkpoint of the same model (``bundled``: the bundled one): classes it shares by name
keep their classifier rows, new ones start fresh.
"""

from __future__ import annotations

import argparse

from .arg_types import positive_int
from .dataset_args import add_dataset_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="training YAML (config/train/*.yaml)")
    add_dataset_arguments(parser)
    parser.add_argument(
        "--init", help="start from this checkpoint (or 'bundled'): overrides init_checkpoint"
    )
    parser.add_argument("--resume", action="store_true", help="continue from OUT_DIR/last.pt")
    parser.add_argument("--out-dir", help="override the config's out_dir")
    parser.add_argument("--epochs", type=positive_int, help="override the config's epochs")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda[:N]")


def run(args: argparse.Namespace) -> int:
    from ..data import open_labelled_data
    from ..training.config import load_train_config
    from ..training.train_segmentation import train

    config = load_train_config(
        args.config,
        out_dir=args.out_dir,
        epochs=args.epochs,
        data=args.data,
        init_checkpoint=args.init,
    )
    data = open_labelled_data(args.data_root, config.data)
    best = train(config, data, resume=args.resume, device=args.device)
    print(f"best checkpoint: {best}")
    return 0
