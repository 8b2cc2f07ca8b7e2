"""Arguments the DAVIS verbs share: fold training (train-motion, train-vos-parent) and
held-out evaluation (eval-motion, eval-vos)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from .arg_types import positive_int, thread_count
from .train_args import add_training_flags, config_overrides, report_checkpoint

__all__ = ["add_fold_training_arguments", "run_fold_training", "add_davis_eval_arguments"]

DATA_ROOT_HELP = "folder holding davis2016/ (else $SEG_PERCEPTION_DATA)"
FRAME_LIMIT_HELP = "frames per sequence (smoke runs)"


def add_fold_training_arguments(parser: argparse.ArgumentParser, config_help: str) -> None:
    """--config, --fold, --data-root, --resume, --out-dir, --epochs, --frame-limit, --device."""
    add_training_flags(
        parser,
        ("--config", {"help": config_help}),
        ("--fold", {"required": True, "help": "fold to train on (the other is tested)"}),
        ("--data-root", {"help": DATA_ROOT_HELP}),
        ("--resume", {"help": "continue from OUT/fold_F/last.pt"}),
        "--out-dir",
        "--epochs",
        ("--frame-limit", {"type": positive_int, "help": FRAME_LIMIT_HELP}),
        "--device",
    )


def run_fold_training(
    args: argparse.Namespace, load_config: Callable, train: Callable[..., Path]
) -> int:
    """``run`` of a fold-training verb: ``load_config`` with the flags' overrides, then
    ``train(config, data_root, fold, resume, device)``."""
    from ..data import resolve_data_root

    config = load_config(args.config, **config_overrides(args, "out_dir", "epochs", "frame_limit"))
    config.training_sequences(args.fold)  # an unknown fold fails before any work
    final = train(config, resolve_data_root(args.data_root), args.fold, args.resume, args.device)
    return report_checkpoint(final)


def add_davis_eval_arguments(parser: argparse.ArgumentParser) -> None:
    """--data-root, --sequences, --device, --frame-limit, --threads."""
    parser.add_argument("--data-root", help=DATA_ROOT_HELP)
    parser.add_argument("--sequences", nargs="*", help="score only these (default: all)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--frame-limit", type=positive_int, help=FRAME_LIMIT_HELP)
    parser.add_argument(
        "--threads", type=thread_count, default=0, help="torch CPU threads (0 = default)"
    )
