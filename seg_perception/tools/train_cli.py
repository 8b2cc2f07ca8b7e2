"""``seg-perception train --config config/train/<name>.yaml [--data SPEC] [--init bundled]``.

Without ``--data`` the model trains on CamVid under the data root; with it, on the
dataset a spec describes (its classes become the checkpoint's). ``--init`` starts from a
checkpoint of the same model (``bundled``: the bundled one): classes it shares by name
keep their classifier rows, new ones start fresh.
"""

from __future__ import annotations

import argparse

from .dataset_args import add_dataset_arguments
from .train_args import add_training_flags, config_overrides, report_checkpoint

INIT_HELP = "start from this checkpoint (or 'bundled'): overrides init_checkpoint"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_training_flags(parser, ("--config", {"help": "training YAML (config/train/*.yaml)"}))
    add_dataset_arguments(parser)
    add_training_flags(
        parser,
        ("--init", {"help": INIT_HELP}),
        ("--resume", {"help": "continue from OUT_DIR/last.pt"}),
        "--out-dir",
        "--epochs",
        "--device",
    )


def run(args: argparse.Namespace) -> int:
    from ..data import open_labelled_data
    from ..training.config import load_train_config
    from ..training.train_segmentation import train

    overrides = config_overrides(args, "out_dir", "epochs", "data")
    config = load_train_config(args.config, init_checkpoint=args.init, **overrides)
    data = open_labelled_data(args.data_root, config.data)
    best = train(config, data, resume=args.resume, device=args.device)
    return report_checkpoint(best, "best")
