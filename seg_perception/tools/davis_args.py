"""Arguments the DAVIS verbs share: fold training (train-motion, train-vos-parent) and
held-out evaluation (eval-motion, eval-vos)."""

from __future__ import annotations

import argparse

from .arg_types import positive_int, thread_count

__all__ = ["add_fold_training_arguments", "add_davis_eval_arguments"]

DATA_ROOT_HELP = "folder holding davis2016/ (else $SEG_PERCEPTION_DATA)"


def add_fold_training_arguments(parser: argparse.ArgumentParser, config_help: str) -> None:
    """--config, --fold, --data-root, --resume, --out-dir, --epochs, --frame-limit, --device."""
    parser.add_argument("--config", required=True, help=config_help)
    parser.add_argument("--fold", required=True, help="fold to train on (the other is tested)")
    parser.add_argument("--data-root", help=DATA_ROOT_HELP)
    parser.add_argument("--resume", action="store_true", help="continue from OUT/fold_F/last.pt")
    parser.add_argument("--out-dir", help="override the config's out_dir")
    parser.add_argument("--epochs", type=positive_int, help="override the config's epochs")
    parser.add_argument(
        "--frame-limit", type=positive_int, help="frames per sequence (smoke runs)"
    )
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda[:N]")


def add_davis_eval_arguments(parser: argparse.ArgumentParser) -> None:
    """--data-root, --sequences, --device, --frame-limit, --threads."""
    parser.add_argument("--data-root", help=DATA_ROOT_HELP)
    parser.add_argument("--sequences", nargs="*", help="score only these (default: all)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument(
        "--frame-limit", type=positive_int, help="frames per sequence (smoke runs)"
    )
    parser.add_argument(
        "--threads", type=thread_count, default=0, help="torch CPU threads (0 = default)"
    )
