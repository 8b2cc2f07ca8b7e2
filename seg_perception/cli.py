"""``seg-perception <verb>``: one entry point; each verb's module is imported on demand.

Errors a user can fix (missing files, bad arguments, bad data) end the command with a
one-line ``seg-perception <verb>: error: ...`` and exit code 2.
"""

from __future__ import annotations

import argparse
import faulthandler
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from .tools.cli_parsing import HelpFormatter, OneLineErrorParser, UserError

__all__ = ["main", "entry", "UserError"]

VERB_GROUPS = {
    # group: {verb: (module exposing add_arguments(parser) and run(args) -> int, help)}
    "run": {
        "demo": ("seg_perception.tools.demo", "run the node on the bundled sample and report"),
        "ros": (
            "seg_perception.tools.ros_cli",
            "topics, echo, call, lifecycle, send-mask: the ros2 commands, without ros2cli",
        ),
        "view": (
            "seg_perception.tools.view_cli",
            "a segmentation node's overlay, classes and diagnostics live in a browser",
        ),
        "bench": ("seg_perception.tools.bench", "per-stage latency and DDS throughput"),
        "bench-motion": (
            "seg_perception.tools.bench_motion_cli",
            "optical flow and two-stream latency at several frame sizes",
        ),
        "models": (
            "seg_perception.tools.models_cli",
            "parameters, GFLOPs and CPU ms of each model",
        ),
    },
    "evaluate": {
        "eval": (
            "seg_perception.tools.eval_cli",
            "evaluate a checkpoint on CamVid or a dataset spec (--data)",
        ),
        "crf-tune": (
            "seg_perception.tools.crf_tune_cli",
            "choose the dense CRF's kernel on a split (val) of CamVid or --data",
        ),
        "fewshot-eval": (
            "seg_perception.tools.fewshot_eval_cli",
            "few-shot protocol (CamVid or --data): imprinted classes against full supervision",
        ),
        "eval-motion": (
            "seg_perception.tools.eval_motion_cli",
            "DAVIS 2016 J and F of the motion checkpoints",
        ),
        "eval-vos": (
            "seg_perception.tools.eval_vos_cli",
            "OSVOS / OnAVOS on DAVIS 2016: first-frame mask, J and F per sequence",
        ),
        "eval-instances": (
            "seg_perception.tools.eval_instances_cli",
            "COCO mask AP of the instance modes on CamVid test",
        ),
        "drive-eval": (
            "seg_perception.tools.drive_eval_cli",
            "closed-loop CarRacing return of a policy on fixed seeds",
        ),
    },
    "train": {
        "dataset": (
            "seg_perception.tools.dataset_cli",
            "check a dataset spec: counts, sizes, class frequencies, every problem",
        ),
        "train": (
            "seg_perception.tools.train_cli",
            "train or fine-tune a segmentation model (CamVid or --data SPEC)",
        ),
        "imprint": (
            "seg_perception.tools.imprint_cli",
            "add classes to a cosine-classifier checkpoint from a few labelled frames",
        ),
        "train-motion": (
            "seg_perception.tools.train_motion_cli",
            "train the two-stream foreground model on a DAVIS fold",
        ),
        "train-vos-parent": (
            "seg_perception.tools.train_vos_parent_cli",
            "train the video-object parent network (binary foreground) on a DAVIS fold",
        ),
        "train-instances": (
            "seg_perception.tools.train_instances_cli",
            "train Mask R-CNN on CamVid's derived instances",
        ),
        "record-demos": (
            "seg_perception.tools.record_demos_cli",
            "record CarRacing demonstrations of the scripted expert",
        ),
        "bag-demos": (
            "seg_perception.tools.bag_demos_cli",
            "demonstrations from a bag's camera and cmd_vel topics",
        ),
        "train-policy": (
            "seg_perception.tools.train_policy_cli",
            "train the driving policy (behaviour cloning + segmentation auxiliary loss)",
        ),
        "dagger": (
            "seg_perception.tools.dagger_cli",
            "DAgger rounds: the policy drives, the expert labels, the policy retrains",
        ),
        "aux-grid": (
            "seg_perception.tools.aux_grid_cli",
            "the auxiliary-loss experiment: arms x data sizes x seeds, trained and scored",
        ),
        "plot-log": ("seg_perception.tools.plot_log_cli", "plot a training log.csv"),
    },
    "bags": {
        "bag-info": (
            "seg_perception.tools.bag_info_cli",
            "topics, types, counts, duration and image encodings of a bag",
        ),
        "bag-play": (
            "seg_perception.tools.bag_play_cli",
            "publish a bag's messages live over ROS 2",
        ),
        "bag-record": (
            "seg_perception.tools.bag_record_cli",
            "record ROS 2 topics to an MCAP bag",
        ),
        "bag-make": ("seg_perception.tools.bag_make_cli", "build a bag from an image sequence"),
        "bag-extract": (
            "seg_perception.tools.bag_extract_cli",
            "frames of a bag's image topic as PNG files named by stamp, for labelling",
        ),
        "bag-eval": (
            "seg_perception.tools.bag_eval_cli",
            "segment and score an image topic of a bag",
        ),
    },
    "export": {
        "export": ("seg_perception.tools.export_cli", "strip a training checkpoint for inference"),
        "export-onnx": (
            "seg_perception.tools.export_onnx_cli",
            "export a checkpoint to ONNX (the cache the node uses, or --out)",
        ),
        "quantize": (
            "seg_perception.tools.quantize_cli",
            "INT8 model of a checkpoint, calibrated on CamVid training frames",
        ),
    },
}
VERBS = {verb: entry for group in VERB_GROUPS.values() for verb, entry in group.items()}


def main(argv: Sequence[str] | None = None) -> int:
    if not sys.stderr.isatty():  # a log file: progress bars every 10 s, not every 0.1 s
        os.environ.setdefault("TQDM_MININTERVAL", "10")
    parser = argparse.ArgumentParser(
        prog="seg-perception",
        description="Pixel-level perception for ROS 2: the segmentation node's tools.",
        epilog=verb_listing() + "\n\n`seg-perception VERB --help` for each verb's options.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    for verb, (module_name, _) in VERBS.items():
        # the verb's own parser (below) answers --help, with its arguments
        verb_parser = sub.add_parser(verb, add_help=False)
        verb_parser.set_defaults(module_name=module_name)
    args, rest = parser.parse_known_args(argv)
    module = importlib.import_module(args.module_name)
    verb_parser = OneLineErrorParser(
        prog=f"seg-perception {args.verb}",
        description=VERBS[args.verb][1],
        formatter_class=HelpFormatter,
    )
    module.add_arguments(verb_parser)
    try:
        return int(module.run(verb_parser.parse_args(rest)) or 0)
    except (UserError, FileNotFoundError, ValueError, OSError, argparse.ArgumentTypeError) as exc:
        print(f"seg-perception {args.verb}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def verb_listing() -> str:
    """The verbs by group, one line each, for the top-level ``--help``."""
    width = max(len(verb) for verb in VERBS) + 2
    blocks = []
    for group, verbs in VERB_GROUPS.items():
        lines = [f"  {verb:<{width}}{help_text}" for verb, (_, help_text) in verbs.items()]
        blocks.append(f"{group}:\n" + "\n".join(lines))
    return "\n\n".join(blocks)


def entry() -> NoReturn:
    """The console script: ``main``, then the process ends.

    A verb that used rclpy has shut it down in order (the graph sees it leave) by the
    time ``main`` returns; the process then ends without running C++ static destructors
    (``process_exit.exit_now``), where Fast DDS can crash at exit (ros2/rmw_fastrtps#761:
    SIGSEGV after the work is done, seen once in a `ros lifecycle` call under load).
    faulthandler names the Python frame of any other native crash on stderr.
    """
    faulthandler.enable()
    code = main()
    if "rclpy" in sys.modules:
        from .nodes.process_exit import exit_now

        exit_now(code)
    sys.exit(code)


if __name__ == "__main__":
    entry()
