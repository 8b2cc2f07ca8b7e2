"""``seg-perception bag-eval --bag PATH --image-topic T [--label-topic L] [--out OUT.mcap]``.

Runs the node's pipeline (default: the bundled checkpoint) over an image topic of a
rosbag2 (folder, ``.db3``, ``.mcap``) or ROS 1 bag; scores it against a mono8
class-id label topic; writes ``labels``/``overlay``/``confidence`` to an MCAP bag
stamped like the inputs, and the report (frames, IoU, latency, fps) as JSON. With
``--use-flow`` it also writes ``motion``/``flow``, as the node does with ``use_flow``:
every optional stage's parameter is an option of the same name (``stages.registry``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..bags.bag_eval import DEFAULT_PREFIX
from ..stages.registry import OPTIONAL_STAGES
from .arg_types import thread_count, unit_float
from .stage_args import add_stage_arguments, stage_param_values


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bag", required=True, help="rosbag2 folder, .mcap, .db3 or ROS 1 .bag")
    parser.add_argument(
        "--image-topic", help="Image or CompressedImage topic (default: the bag's only one)"
    )
    parser.add_argument("--label-topic", help="mono8 class-id Image topic, stamped like images")
    parser.add_argument("--checkpoint", default="", help="checkpoint (default: the bundled one)")
    parser.add_argument(
        "--backend",
        choices=("auto", "torch", "onnxruntime", "openvino"),
        default="auto",
        help="network runtime, as the node's inference_backend (default: auto)",
    )
    parser.add_argument("--precision", choices=("fp32", "int8"), default="fp32")
    parser.add_argument("--int8-model", default="", help="INT8 ONNX model (int8 precision)")
    add_stage_arguments(parser, OPTIONAL_STAGES)
    parser.add_argument("--out", help="output bag: OUT.mcap, or a folder for a rosbag2 MCAP bag")
    parser.add_argument(
        "--json", default="out/bag_eval/metrics.json", help="report file (default: %(default)s)"
    )
    parser.add_argument(
        "--prefix", default=DEFAULT_PREFIX, help="output topic namespace (default: %(default)s)"
    )
    parser.add_argument(
        "--overlay-alpha", type=unit_float, default=0.5, help="overlay colour weight"
    )
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument(
        "--threads", type=thread_count, default=0, help="torch CPU threads (0 = default)"
    )
    parser.add_argument("--compress", action="store_true", help="zstd chunks in --out")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out")


def _frame_pipeline(checkpoint: Path, args: argparse.Namespace):
    """The node's frame pipeline for these arguments (the same stages the node builds)."""
    import torch

    from ..checkpoint import checkpoint_classes, load_checkpoint
    from ..stages.build import build_frame_pipeline
    from ..stages.segmentation_params import SegmentationParams

    if args.threads:
        torch.set_num_threads(args.threads)
    classes = checkpoint_classes(checkpoint)
    params = SegmentationParams(
        model=load_checkpoint(checkpoint)["model_name"],
        checkpoint=str(checkpoint),
        device=args.device,
        class_names=list(classes.names),
        palette=[v for color in classes.colors for v in color],
        overlay_alpha=args.overlay_alpha,
        inference_backend=args.backend,
        inference_precision=args.precision,
        int8_model=args.int8_model,
        num_threads=args.threads,
        **stage_param_values(args, OPTIONAL_STAGES),
    )
    params.validate()
    frames, _ = build_frame_pipeline(
        params, log=lambda line: None, warn=lambda line: print(line, file=sys.stderr)
    )
    return frames


def run(args: argparse.Namespace) -> int:
    from ..bags.bag_eval import evaluate_bag
    from ..bags.bag_reader import BagReader, the_image_topic
    from ..bags.image_messages import IMAGE_TYPE, IMAGE_TYPES
    from ..io_utils import write_json

    if args.out and Path(args.out).exists() and not args.overwrite:
        raise FileExistsError(f"{args.out} exists; pass --overwrite or choose another --out")
    with BagReader(args.bag) as bag:
        # the bag and its topics are checked before the model is loaded
        args.image_topic = args.image_topic or the_image_topic(bag, args.label_topic)
        bag.topic_type(args.image_topic, IMAGE_TYPES)
        if args.label_topic:
            bag.topic_type(args.label_topic, (IMAGE_TYPE,))
        from ..checkpoint import DEFAULT_CHECKPOINT  # imports torch

        checkpoint = Path(args.checkpoint) if args.checkpoint else DEFAULT_CHECKPOINT
        frames = _frame_pipeline(checkpoint, args)
        report = evaluate_bag(
            bag,
            frames,
            args.image_topic,
            args.label_topic,
            args.out,
            prefix=args.prefix,
            compress=args.compress,
            overwrite=args.overwrite,
        )
    from ..evaluation.segmentation_eval import file_sha256
    from ..stages.crf import crf_params_of

    report = {
        "checkpoint": str(checkpoint),
        "checkpoint_sha256": file_sha256(checkpoint),
        "refine": args.refine,
        "crf": crf_params_of(args).as_dict() if args.refine == "crf" else None,
        **report,
    }
    write_json(args.json, report)
    _print_report(report, args.json)
    return 0


def _print_report(report: dict, json_path: str) -> None:
    total = report["latency_ms"].get("total", {})
    print(
        f"{report['frames']} frames of {report['image_topic']} segmented, "
        f"{report['skipped_frames']} skipped, {report['failed_frames']} failed; "
        f"{report['fps']:.1f} fps; latency ms "
        f"p50 {total.get('p50', float('nan')):.1f} p90 {total.get('p90', float('nan')):.1f} "
        f"p99 {total.get('p99', float('nan')):.1f} on {report['device']} ({report['backend']})"
    )
    if "motion_frames" in report:
        print(
            f"motion and flow for {report['motion_frames']} frames; resets {report['flow_resets']}"
        )
    if "instances" in report:
        print(f"{report['instances']} instances ({report['instance_mode']} mode)")
    for reason in report["skipped_reasons"]:
        print(f"  skipped: {reason}")
    for reason in report["failed_reasons"]:
        print(f"  failed: {reason}")
    if report["label_topic"]:
        if report["labelled_frames"]:
            for name, value in report["per_class_iou"].items():
                shown = "  n/a" if value is None else f"{100 * value:5.1f}"
                print(f"  {name:<11} IoU {shown}")
            print(
                f"mean IoU {100 * report['mean_iou']:.2f} % over {report['labelled_frames']} "
                f"labelled frames (pixel accuracy {100 * report['pixel_accuracy']:.2f} %)"
            )
        else:
            print(f"no label on {report['label_topic']} matched an image stamp: no IoU")
    if report["output_bag"]:
        print(f"wrote {report['output_bag']} ({', '.join(report['output_topics'])})")
    print(f"wrote {json_path}")
