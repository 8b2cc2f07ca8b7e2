"""``seg-perception quantize [--checkpoint C] --data-root D --out M.onnx``: INT8 model.

Post-training static quantization (ONNX Runtime, QDQ) calibrated on CamVid training
frames (at most 300); the node runs the result with ``inference_precision: int8``.
"""

from __future__ import annotations

import argparse

from .arg_types import positive_int


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", default="", help="checkpoint (default: the bundled one)")
    parser.add_argument("--data-root", help="folder holding camvid/ (else $SEG_PERCEPTION_DATA)")
    parser.add_argument("--out", required=True, help="INT8 ONNX model to write")
    parser.add_argument(
        "--frames", type=positive_int, default=300, help="calibration frames (at most 300)"
    )
    parser.add_argument("--width", type=positive_int, default=480, help="network input width")
    parser.add_argument("--height", type=positive_int, default=360, help="network input height")
    parser.add_argument(
        "--confidence-stride",
        type=positive_int,
        default=4,
        help="the node's confidence_stride the model is made for (default %(default)s)",
    )


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    import numpy as np

    from ..checkpoint import DEFAULT_CHECKPOINT, load_model
    from ..data import resolve_data_root
    from ..data.camvid import read_rgb, split_files
    from ..inference.onnx_cache import file_sha256
    from ..inference.quantize import quantize_segmentation
    from ..inference.segmentation_network import fused_onnx

    if args.frames > 300:
        raise ValueError(f"--frames must be at most 300 (the protocol), got {args.frames}")
    checkpoint = Path(args.checkpoint) if args.checkpoint else DEFAULT_CHECKPOINT
    model, _ = load_model(checkpoint)
    files = split_files(resolve_data_root(args.data_root), "train")
    # evenly spread over the training split, which is four driving sequences in order
    picks = np.linspace(0, len(files) - 1, min(args.frames, len(files))).round().astype(int)
    frames = [read_rgb(files[i][1]) for i in sorted(set(picks.tolist()))]
    size = (args.width, args.height)
    source = file_sha256(checkpoint)
    fp32 = fused_onnx(model, size, args.confidence_stride, source)
    out = quantize_segmentation(fp32, frames, size, args.confidence_stride, source, args.out)
    print(
        f"wrote {out} (INT8, {len(frames)} CamVid train calibration frames, {size[0]}x{size[1]})"
    )
    return 0
