"""``seg-perception eval [--checkpoint C] [--data SPEC] --split test``: mIoU of a checkpoint
on CamVid or on the dataset a spec describes (the checkpoint must predict its classes).

Writes ``<out>/metrics.json`` (per-class IoU, mean IoU, pixel accuracy, latency) and
``<out>/confusion.png``. Without ``--checkpoint`` the bundled default is evaluated.
``--refine crf`` refines every frame's labels with the dense CRF (``--crf-*``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from .arg_types import frame_size, positive_int, thread_count
from .dataset_args import add_dataset_arguments, labelled_data_of
from .refine_args import add_refine_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", default="", help="checkpoint (default: the bundled one)")
    parser.add_argument("--split", default="test", help="split to score (train, val, test)")
    add_dataset_arguments(parser)
    parser.add_argument(
        "--input-size",
        type=frame_size,
        default=(480, 360),
        help="network input WIDTHxHEIGHT (the node's input_width x input_height); labels "
        "are scored at each mask's own size",
    )
    parser.add_argument("--out", default="out/eval", help="output folder")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--limit", type=positive_int, help="evaluate only the first N frames")
    parser.add_argument(
        "--threads", type=thread_count, default=0, help="torch CPU threads (0 = default)"
    )
    parser.add_argument(
        "--backend",
        choices=("auto", "torch", "onnxruntime", "openvino"),
        default="auto",
        help="network runtime: auto as the node (OpenVINO or ONNX Runtime on a CPU, several "
        "times faster than torch on a busy machine); torch is the reference",
    )
    parser.add_argument("--precision", choices=("fp32", "int8"), default="fp32")
    parser.add_argument(
        "--int8-model", default="", help="INT8 ONNX model (default: the bundled checkpoint's)"
    )
    add_refine_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from ..checkpoint import DEFAULT_CHECKPOINT, int8_model_for, load_model
    from ..device import select_device
    from ..evaluation.segmentation_eval import confusion_figure, evaluate_split, file_sha256
    from ..inference.backends import choose_backend
    from ..inference.segmentation_network import segmentation_network
    from ..inference.segmentation_pipeline import SegmentationPipeline
    from ..io_utils import write_json
    from ..refine.dense_crf import DenseCRF
    from ..stages.crf import CRFStage, crf_params_of
    from .machine import describe_machine

    if args.threads:
        torch.set_num_threads(args.threads)
    data = labelled_data_of(args)
    classes = data.classes
    checkpoint = Path(args.checkpoint) if args.checkpoint else DEFAULT_CHECKPOINT
    model, payload = load_model(checkpoint, expected_classes=classes)  # the dataset's labels
    device = select_device(args.device)
    choice = choose_backend(args.backend, device)
    int8_model = int8_model_for(args.precision, args.int8_model, checkpoint)
    refiner = CRFStage(DenseCRF(crf_params_of(args))) if args.refine == "crf" else None
    probabilities = refiner is not None
    network = segmentation_network(
        model,
        args.input_size,
        choice,
        device,
        file_sha256(checkpoint),
        args.threads,
        int8_model,
        probabilities=probabilities,
    )
    pipeline = SegmentationPipeline(
        model, classes, args.input_size, args.device, network=network, probabilities=probabilities
    )
    confusion, latency, frames = evaluate_split(pipeline, data, args.split, args.limit, refiner)
    iou = confusion.iou()
    stages = latency.summary()
    metrics = {
        "checkpoint": str(checkpoint),
        "checkpoint_sha256": file_sha256(checkpoint),
        "model": payload["model_name"],
        "dataset": data.name,
        "split": args.split,
        "frames": frames,
        "input_size": list(args.input_size),
        "mean_iou": confusion.mean_iou(),
        "pixel_accuracy": confusion.pixel_accuracy(),
        "per_class_iou": {n: float(v) for n, v in zip(classes.names, iou, strict=True)},
        "latency_ms": stages,
        "device": str(pipeline.device),
        "backend": choice.name,
        "precision": args.precision,
        "refine": args.refine,
        "crf": crf_params_of(args).as_dict() if refiner else None,
        "machine": describe_machine(pipeline.device),
        "confusion_matrix": confusion.matrix.tolist(),
    }
    out = Path(args.out)
    write_json(out / "metrics.json", metrics)
    confusion_figure(
        confusion,
        out / "confusion.png",
        f"{payload['model_name']} on {data.name} {args.split}",
        classes,
    )
    width = max(11, *(len(name) for name in classes.names))
    for name, value in metrics["per_class_iou"].items():
        print(f"  {name:<{width}} IoU {100 * value:5.1f}")
    print(
        f"{args.split}: {frames} frames, mean IoU {100 * metrics['mean_iou']:.2f} %, "
        f"pixel accuracy {100 * metrics['pixel_accuracy']:.2f} %, "
        f"inference {stages['inference']['mean']:.1f} ms/frame on {pipeline.device} "
        f"({choice.name}, {args.precision})"
        + (f", CRF {stages['crf']['mean']:.0f} ms/frame" if refiner else "")
    )
    print(f"wrote {out / 'metrics.json'} and {out / 'confusion.png'}")
    return 0
