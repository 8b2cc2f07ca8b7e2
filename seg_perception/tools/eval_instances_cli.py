"""``seg-perception eval-instances [--checkpoint C] --data-root D``: COCO mask AP of both
instance modes on the CamVid test frames (ground truth derived from the label PNGs)."""

from __future__ import annotations

import argparse

from .arg_types import positive_int, thread_count


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", help="Mask R-CNN checkpoint (default: the bundled one)")
    parser.add_argument(
        "--segmentation-checkpoint",
        help="segmentation checkpoint for the fast mode (default: bundled)",
    )
    parser.add_argument("--data-root", help="folder holding camvid/ (else $SEG_PERCEPTION_DATA)")
    parser.add_argument("--split", default="test", help="CamVid split (default test)")
    parser.add_argument(
        "--modes",
        nargs="+",
        choices=("fast", "maskrcnn"),
        default=["fast", "maskrcnn"],
        help="instance modes to score",
    )
    parser.add_argument("--limit", type=positive_int, help="only the first N frames (smoke runs)")
    parser.add_argument("--out", help="write the per-class AP as JSON here")
    parser.add_argument("--figure", help="write a PNG of a few frames: truth and each mode")
    parser.add_argument(
        "--threads", type=thread_count, default=0, help="torch CPU threads (0 = default)"
    )


def _table(reports: dict) -> str:
    names = list(next(iter(reports.values())))
    lines = [f"{'class':<12}" + "".join(f"{m + ' AP':>14}{m + ' AP50':>16}" for m in reports)]
    for name in names:
        row = f"{name:<12}"
        for report in reports.values():
            row += f"{report[name]['AP']:>14.2f}{report[name]['AP50']:>16.2f}"
        lines.append(row + f"   ({next(iter(reports.values()))[name]['gt']} objects)")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    import torch
    from tqdm import tqdm

    from ..checkpoint import INSTANCE_CHECKPOINT, load_checkpoint
    from ..classes import CAMVID
    from ..data import resolve_data_root
    from ..inference.segmentation_pipeline import SegmentationPipeline
    from ..instances.coco_eval import mask_ap
    from ..instances.components import instances_from_labels
    from ..instances.dataset import CamVidInstances
    from ..instances.figure import save_instance_figure
    from ..instances.maskrcnn import detect_instances, load_instance_model
    from ..io_utils import write_json
    from .machine import describe_machine

    if args.threads:
        torch.set_num_threads(args.threads)
    checkpoint = args.checkpoint or str(INSTANCE_CHECKPOINT)
    payload = load_checkpoint(checkpoint)
    thing_names = list(payload.get("thing_classes", ["Car", "Pedestrian", "Bicyclist"]))
    class_ids = CAMVID.ids_of(thing_names)
    min_area = int(payload.get("min_area", 50))
    frames = CamVidInstances(
        resolve_data_root(args.data_root), args.split, class_ids, min_area, limit=args.limit
    )
    truth = [frames.instances(i) for i in range(len(frames))]
    predictions: dict[str, list] = {mode: [] for mode in args.modes}
    segmenter = detector = None
    if "fast" in args.modes:
        segmenter = SegmentationPipeline.from_checkpoint(
            args.segmentation_checkpoint, CAMVID, device="cpu", confidence_stride=1
        )
    if "maskrcnn" in args.modes:
        detector, _ = load_instance_model(checkpoint)
    for index in tqdm(range(len(frames)), desc="frames", dynamic_ncols=True):
        rgb, _ = frames.frames[index]
        if segmenter is not None:
            result = segmenter(rgb)
            predictions["fast"].append(
                instances_from_labels(result.labels, class_ids, min_area, result.confidence)
            )
        if detector is not None:
            predictions["maskrcnn"].append(
                detect_instances(detector, rgb, class_ids, score_threshold=0.05)
            )
    shape = frames.frames[0][1].shape
    reports = {
        mode: mask_ap(truth, found, shape, class_ids, thing_names)
        for mode, found in predictions.items()
    }
    print(f"{args.split}: {len(frames)} frames, mask AP (%) over IoU 0.50:0.95 and AP50")
    print(_table(reports))
    if args.out:
        write_json(
            args.out,
            {
                "split": args.split,
                "frames": len(frames),
                "checkpoint": checkpoint,
                "min_area": min_area,
                "machine": describe_machine("cpu"),
                "modes": reports,
            },
        )
    if args.figure:
        save_instance_figure(args.figure, frames, truth, predictions)
        print(f"figure: {args.figure}")
    return 0
