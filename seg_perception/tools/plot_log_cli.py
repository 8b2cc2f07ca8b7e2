"""``seg-perception plot-log --log runs/x/log.csv --out curve.png``: training curves."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--log", required=True, help="the trainer's log.csv")
    parser.add_argument("--out", required=True, help="PNG to write")
    parser.add_argument("--title", default="training", help="plot title")


def run(args: argparse.Namespace) -> int:
    from ..training.training_plot import plot_training_log

    plot_training_log(args.log, args.out, args.title)
    print(f"wrote {args.out}")
    return 0
