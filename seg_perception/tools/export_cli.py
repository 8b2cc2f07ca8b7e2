"""``seg-perception export --checkpoint runs/x/best.pt --out model.pt``: inference copy.

Drops optimizer and scheduler state and stores weights as float16 (half the size).
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", required=True, help="training checkpoint (best.pt)")
    parser.add_argument("--out", required=True, help="output checkpoint path")


def run(args: argparse.Namespace) -> int:
    from ..checkpoint import export_for_inference

    exported = export_for_inference(args.checkpoint, args.out)
    print(
        f"wrote {args.out}: {exported['model_name']}, epoch {exported.get('epoch')}, "
        f"val mIoU {exported.get('best_score')}"
    )
    return 0
