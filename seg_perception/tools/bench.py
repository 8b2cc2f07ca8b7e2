"""``seg-perception bench``: per-stage latency in-process and frames/s through DDS.

1. In-process: a ``SegmentationNode`` is built in this process and its own
   ``process_frame`` runs on ``sensor_msgs/Image`` frames (CamVid sample frames
   resized to each size): decode, preprocess, inference, postprocess, publish.
2. End to end: the node runs as its own process; this process publishes frames at
   ``--rate`` over Fast DDS (loopback) and counts the outputs that come back.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np

from ..io_utils import write_json
from ..latency_stats import percentiles
from ..samples import load_camvid_sample
from .arg_types import positive_float, positive_int, thread_count

STAGES = ("decode", "preprocess", "inference", "postprocess", "overlay", "publish", "total")
BAR_MS = 5.0  # everything but the network forward, per 640x480 frame (issue bar)


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size {text!r} is not WIDTHxHEIGHT") from None
    if width < 32 or height < 32:
        raise argparse.ArgumentTypeError(f"size {text!r} is too small")
    return width, height


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sizes",
        nargs="+",
        type=_size,
        default=[(480, 360), (640, 480)],
        help="camera frame sizes WIDTHxHEIGHT",
    )
    parser.add_argument(
        "--iterations", type=positive_int, default=50, help="frames per size in-process"
    )
    parser.add_argument(
        "--rate", type=positive_float, default=30.0, help="publish rate (Hz) end to end"
    )
    parser.add_argument(
        "--seconds", type=positive_float, default=5.0, help="end-to-end duration per size"
    )
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument(
        "--threads", type=thread_count, default=0, help="torch threads (0 = default)"
    )
    parser.add_argument("--out", default="out/bench/bench.json", help="JSON results")
    parser.add_argument("--skip-e2e", action="store_true", help="only the in-process stages")


def _frames(size: tuple[int, int], count: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
    sample = load_camvid_sample(count)
    return [
        (
            stem,
            cv2.resize(rgb, size, interpolation=cv2.INTER_AREA),
            cv2.resize(label, size, interpolation=cv2.INTER_NEAREST),
        )
        for stem, rgb, label in sample
    ]


def _in_process(size, args) -> dict:
    from rclpy.parameter import Parameter
    from sensor_msgs.msg import Image

    from ..nodes.ros_image import array_to_image_msg
    from ..nodes.segmentation_node import SegmentationNode

    node = SegmentationNode(
        parameter_overrides=[
            Parameter("device", value=args.device),
            Parameter("num_threads", value=args.threads),
        ]
    )
    try:
        messages = [
            array_to_image_msg(rgb, "rgb8", Image().header) for _, rgb, _ in _frames(size, 10)
        ]
        for msg in messages[:5]:  # warm-up (allocators, kernels)
            node.process_frame(msg)
        node.frames.stats = type(node.frames.stats)(window=args.iterations)
        for i in range(args.iterations):
            node.process_frame(messages[i % len(messages)])
        summary = node.frames.latency()[1]
        network = f"{node.params.input_width}x{node.params.input_height}"
    finally:
        node.destroy_node()
    return {"network_input": network, "stages_ms": summary}


def _end_to_end(size, args) -> dict:
    from rclpy.executors import SingleThreadedExecutor

    from ..nodes.demo_player import DemoPlayer
    from ..nodes.ros_graph import NodeProcess
    from ..package_files import config_file

    count = max(2, int(args.rate * args.seconds))
    sample = _frames(size, None)
    frames = [sample[i % len(sample)] for i in range(count)]
    ros_args = [
        "--params-file",
        str(config_file("segmentation.yaml")),
        "-r",
        "image:=/bench/image_raw",
        "-p",
        f"device:={args.device}",
        "-p",
        f"num_threads:={args.threads}",
    ]
    executor = SingleThreadedExecutor()
    player = DemoPlayer(frames, "/bench/image_raw", "/segmentation_node")
    executor.add_node(player)
    with NodeProcess("segmentation_node", ros_args) as node:
        player.play_through(executor, node, args.rate, 60.0)
    executor.shutdown()
    player.destroy_node()
    latency = percentiles([1e3 * v for v in player.latency_s.values()])
    return {
        "published": player.published,
        "received": len(player.labels),
        "output_fps": player.output_fps(),
        "latency_ms": latency,
        "publish_rate_hz": args.rate,
    }


def run(args: argparse.Namespace) -> int:
    import rclpy
    import torch

    from ..device import select_device
    from ..machine import describe_machine
    from ..nodes.ros_graph import isolated_ros_env

    if args.threads:
        torch.set_num_threads(args.threads)
    results = {"machine": describe_machine(select_device(args.device)), "sizes": {}}
    with isolated_ros_env():
        rclpy.init()
        try:
            for size in args.sizes:
                key = f"{size[0]}x{size[1]}"
                print(f"[{key}] in-process stages ({args.iterations} frames) ...", flush=True)
                entry = {"in_process": _in_process(size, args)}
                if not args.skip_e2e:
                    print(f"[{key}] end to end through DDS ({args.seconds:.0f} s) ...", flush=True)
                    entry["end_to_end"] = _end_to_end(size, args)
                results["sizes"][key] = entry
                time.sleep(0.5)
        finally:
            rclpy.try_shutdown()
    write_json(Path(args.out), results)
    _print_table(results)
    for key, entry in results["sizes"].items():
        overhead = entry["in_process"]["stages_ms"]["non_inference"]
        verdict = "within" if overhead["mean"] <= BAR_MS else "OVER"
        print(f"{key}: all but inference {overhead['mean']:.2f} ms mean, {verdict} {BAR_MS} ms")
    print(f"wrote {args.out}")
    return 0


def _print_table(results: dict) -> None:
    print(f"\nmachine: {results['machine']}")
    header = (
        "| frame | network | "
        + " | ".join(STAGES)
        + " | all but inference (mean / p50) | e2e fps | e2e p50 ms |"
    )
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for key, entry in results["sizes"].items():
        stages = entry["in_process"]["stages_ms"]
        cells = [f"{stages[s]['mean']:.2f}" for s in STAGES]
        e2e = entry.get("end_to_end")
        fps = f"{e2e['output_fps']:.1f}" if e2e else "-"
        p50 = f"{e2e['latency_ms']['p50']:.0f}" if e2e else "-"
        print(
            f"| {key} | {entry['in_process']['network_input']} | "
            + " | ".join(cells)
            + f" | {stages['non_inference']['mean']:.2f} / {stages['non_inference']['p50']:.2f}"
            + f" | {fps} | {p50} |"
        )
