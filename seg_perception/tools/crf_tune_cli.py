"""``seg-perception crf-tune --split val [--data SPEC]``: choose the dense CRF's kernel on val.

Scores a grid of bilateral-kernel weights and widths (``--weights``, ``--sxy``,
``--srgb``; the Gaussian kernel and iterations from ``--crf-*``) against the unrefined
labels, writes ``<out>/crf_grid.json`` (every point: mean and per-class IoU) and
``<out>/crf_examples.png`` (frames without and with the best point), and prints the
``--crf-*`` options of the best point for ``eval --refine crf``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .arg_types import positive_float_list, positive_int, thread_count
from .dataset_args import add_dataset_arguments, labelled_data_of
from .refine_args import add_crf_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", default="", help="checkpoint (default: the bundled one)")
    parser.add_argument("--split", default="val", help="split to tune on (choose on val)")
    add_dataset_arguments(parser)
    parser.add_argument("--out", default="out/crf_tune", help="output folder")
    parser.add_argument("--limit", type=positive_int, help="only the first N frames")
    parser.add_argument("--threads", type=thread_count, default=0, help="torch CPU threads")
    parser.add_argument(
        "--weights", type=positive_float_list, default=[3.0, 5.0, 10.0], help="bilateral weights"
    )
    parser.add_argument(
        "--sxy",
        type=positive_float_list,
        default=[20.0, 50.0, 80.0],
        help="bilateral widths (pixels)",
    )
    parser.add_argument(
        "--srgb",
        type=positive_float_list,
        default=[3.0, 5.0, 13.0],
        help="bilateral colour widths",
    )
    add_crf_arguments(parser)


def run(args: argparse.Namespace) -> int:
    import torch

    from ..checkpoint import DEFAULT_CHECKPOINT, load_model
    from ..evaluation.crf_figure import crf_examples_figure
    from ..evaluation.crf_tuning import CRFGrid, tune_crf
    from ..inference.segmentation_pipeline import SegmentationPipeline
    from ..io_utils import file_sha256, write_json
    from ..refine.dense_crf import require_dense_crf
    from ..stages.crf import crf_params_of
    from .machine import describe_machine

    require_dense_crf()
    if args.threads:
        torch.set_num_threads(args.threads)
    data = labelled_data_of(args)
    classes = data.classes
    checkpoint = Path(args.checkpoint) if args.checkpoint else DEFAULT_CHECKPOINT
    model, payload = load_model(checkpoint, expected_classes=classes)
    pipeline = SegmentationPipeline(model, classes, (480, 360), "cpu", probabilities=True)
    grid = CRFGrid(crf_params_of(args), args.weights, args.sxy, args.srgb)
    result = tune_crf(pipeline, data, grid, args.split, args.limit)
    best = result.best()

    def scores(confusion) -> dict:
        per_class = dict(zip(classes.names, map(float, confusion.iou()), strict=True))
        return {"mean_iou": confusion.mean_iou(), "per_class_iou": per_class}

    report = {
        "checkpoint": str(checkpoint),
        "checkpoint_sha256": file_sha256(checkpoint),
        "model": payload["model_name"],
        "dataset": data.name,
        "split": args.split,
        "frames": result.frames,
        "resolution": [480, 360],
        "without_crf": scores(result.baseline),
        "grid": [
            {"crf": point.as_dict(), **scores(confusion)}
            for point, confusion in zip(result.points, result.confusions, strict=True)
        ],
        "best": {"crf": result.points[best].as_dict(), **scores(result.confusions[best])},
        "machine": describe_machine(torch.device("cpu")),
    }
    out = Path(args.out)
    write_json(out / "crf_grid.json", report)
    crf_examples_figure(result, best, out / "crf_examples.png", classes)
    print(f"{'weight':>6} {'sxy':>5} {'srgb':>5}  mIoU")
    for point, confusion in zip(result.points, result.confusions, strict=True):
        mark = "  <- best" if point == result.points[best] else ""
        print(
            f"{point.appearance_weight:6g} {point.appearance_sxy:5g} "
            f"{point.appearance_srgb:5g}  {100 * confusion.mean_iou():.2f}{mark}"
        )
    chosen = result.points[best]
    print(
        f"{args.split}: {result.frames} frames, "
        f"without CRF {100 * result.baseline.mean_iou():.2f} %, "
        f"best {100 * result.confusions[best].mean_iou():.2f} % with --crf-appearance-weight "
        f"{chosen.appearance_weight:g} --crf-appearance-sxy {chosen.appearance_sxy:g} "
        f"--crf-appearance-srgb {chosen.appearance_srgb:g}"
    )
    print(f"wrote {out / 'crf_grid.json'} and {out / 'crf_examples.png'}")
    return 0
