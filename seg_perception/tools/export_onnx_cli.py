"""``seg-perception export-onnx [--checkpoint C] [--width W --height H] [--out M.onnx]``.

Exports a segmentation checkpoint to ONNX (input ``image`` (1, 3, H, W), ImageNet
normalised; output ``out`` logits) into the cache the node uses (keyed by the
checkpoint's SHA-256 and the input size), or to ``--out``.
"""

from __future__ import annotations

import argparse

from .arg_types import positive_int


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", default="", help="checkpoint (default: the bundled one)")
    parser.add_argument("--width", type=positive_int, default=480, help="network input width")
    parser.add_argument("--height", type=positive_int, default=360, help="network input height")
    parser.add_argument("--out", help="also copy the export here")


def run(args: argparse.Namespace) -> int:
    import shutil
    from pathlib import Path

    import torch

    from ..checkpoint import DEFAULT_CHECKPOINT, load_model
    from ..inference.onnx_cache import cached_onnx, file_sha256
    from ..io_utils import atomic_write

    checkpoint = Path(args.checkpoint) if args.checkpoint else DEFAULT_CHECKPOINT
    model, _ = load_model(checkpoint)
    example = torch.zeros(1, 3, args.height, args.width)
    path, built = cached_onnx(
        model, [example], ["image"], ["out"], "segmentation", file_sha256(checkpoint)
    )
    print(f"{'exported' if built else 'cached'}: {path}")
    if args.out:
        with atomic_write(args.out) as tmp:
            shutil.copyfile(path, tmp)
        print(f"wrote {args.out}")
    return 0
