"""``seg-perception bench``: per-stage latency in-process and frames/s through DDS, for
each inference backend (and precision) in one run.

1. In-process: a ``SegmentationNode`` is built in this process and its own
   ``process_frame`` runs on ``sensor_msgs/Image`` frames (CamVid sample frames
   resized to each size): decode, preprocess, inference, postprocess, overlay, publish.
2. End to end: the node runs as its own process; this process publishes frames at
   ``--rate`` over Fast DDS (loopback) and measures, per frame, publish -> ``~/labels``
   received: output fps, latency percentiles and frames lost (published, never answered).

``--refine crf`` measures the node with the dense CRF (its ``crf`` stage is in the
non-forward time); ``--network-at-frame-size`` runs network and CRF at each frame size.
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
from ..stages.crf import REFINE_MODES
from .arg_types import frame_size, positive_float, positive_int, thread_count

SUBSCRIPTIONS = {"labels": ("labels",), "all": ("labels", "overlay", "confidence")}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sizes",
        nargs="+",
        type=frame_size,
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
    parser.add_argument(
        "--backend",
        nargs="+",
        choices=("torch", "onnxruntime", "openvino"),
        help="backends to measure (default: every installed one)",
    )
    parser.add_argument(
        "--precision", nargs="+", choices=("fp32", "int8"), default=["fp32"], help="precisions"
    )
    parser.add_argument(
        "--subscribe",
        nargs="+",
        choices=tuple(SUBSCRIPTIONS),
        default=["all"],
        help="end to end: the outputs subscribed (labels: ~/labels only, so the lazy node "
        "computes nothing else; all: labels, overlay and confidence), one run each",
    )
    parser.add_argument("--out", default="out/bench/bench.json", help="JSON results")
    parser.add_argument("--skip-e2e", action="store_true", help="only the in-process stages")
    parser.add_argument(
        "--refine",
        choices=REFINE_MODES,
        default="none",
        help="the node's refine parameter (crf: the dense CRF, node defaults)",
    )
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="end to end: run the node under py-spy and write each run's collapsed stacks, "
        "a chart of where its samples go and a summary to DIR",
    )
    parser.add_argument(
        "--network-at-frame-size",
        action="store_true",
        help="run the network (and the CRF) at each frame size instead of the node's 480x360",
    )


def _node_parameters(size, args, backend: str, precision: str) -> dict[str, object]:
    """The node parameters one benchmark run sets."""
    values: dict[str, object] = {
        "device": args.device,
        "num_threads": args.threads,
        "inference_backend": backend,
        "inference_precision": precision,
        "refine": args.refine,
    }
    if args.network_at_frame_size:
        values |= {"input_width": size[0], "input_height": size[1]}
    return values


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


def _in_process(size, args, backend: str, precision: str) -> dict:
    from rclpy.parameter import Parameter
    from sensor_msgs.msg import Image

    from ..nodes.ros_image import array_to_image_msg
    from ..nodes.segmentation_node import SegmentationNode

    values = _node_parameters(size, args, backend, precision)
    node = SegmentationNode(
        parameter_overrides=[Parameter(name, value=value) for name, value in values.items()]
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


def _end_to_end(size, args, backend: str, precision: str, subscribe: str) -> dict:
    from rclpy.executors import SingleThreadedExecutor

    from ..nodes.demo_player import DemoPlayer
    from ..nodes.ros_graph import NodeProcess
    from ..package_files import config_file
    from .node_profile import NodeProfile

    count = max(2, int(args.rate * args.seconds))
    sample = _frames(size, None)
    frames = [sample[i % len(sample)] for i in range(count)]
    ros_args = [
        "--params-file",
        str(config_file("segmentation.yaml")),
        "-r",
        "image:=/bench/image_raw",
    ]
    for name, value in _node_parameters(size, args, backend, precision).items():
        ros_args += ["-p", f"{name}:={value}"]
    executor = SingleThreadedExecutor()
    player = DemoPlayer(frames, "/bench/image_raw", "/segmentation_node", SUBSCRIPTIONS[subscribe])
    executor.add_node(player)
    key = f"{size[0]}x{size[1]}-{backend}-{precision}-{subscribe}"
    profile = NodeProfile(Path(args.profile), key) if args.profile else None
    prefix = profile.command() if profile else ()
    with NodeProcess("segmentation_node", ros_args, prefix=prefix) as node:
        player.play_through(executor, node, args.rate, 60.0)
    executor.shutdown()
    player.destroy_node()
    latency = percentiles([1e3 * v for v in player.latency_s.values()])
    dropped = int((player.last_diagnostics or {}).get("frames_dropped", 0))
    return {
        "published": player.published,
        "received": len(player.labels),
        "dropped_by_node": dropped,
        "lost": player.published - len(player.labels) - dropped,
        "output_fps": player.output_fps(),
        "latency_ms": latency,
        "publish_rate_hz": args.rate,
        "subscribed": list(SUBSCRIPTIONS[subscribe]),
        **({"profile": profile.summary()} if profile else {}),
    }


def run(args: argparse.Namespace) -> int:
    import rclpy
    import torch

    from ..device import select_device
    from ..inference.backends import installed_backends
    from ..nodes.ros_graph import isolated_ros_env
    from .machine import describe_machine

    if args.threads:
        torch.set_num_threads(args.threads)
    backends = args.backend or installed_backends()
    missing = set(backends) - set(installed_backends())
    if missing:
        raise ValueError(f"backend(s) not installed: {', '.join(sorted(missing))}")
    runs = [(b, p) for b in backends for p in args.precision if not (b == "torch" and p == "int8")]
    results = {"machine": describe_machine(select_device(args.device)), "runs": []}
    with isolated_ros_env():
        rclpy.init()
        try:
            for backend, precision in runs:
                for size in args.sizes:
                    key = f"{size[0]}x{size[1]} {backend} {precision}"
                    print(f"[{key}] in-process ({args.iterations} frames) ...", flush=True)
                    entry = {
                        "frame": f"{size[0]}x{size[1]}",
                        "backend": backend,
                        "precision": precision,
                        "refine": args.refine,
                        "in_process": _in_process(size, args, backend, precision),
                    }
                    if args.skip_e2e:
                        results["runs"].append(entry)
                    else:
                        for subscribe in args.subscribe:  # a row each
                            print(f"[{key}] end to end, {subscribe} ({args.seconds:.0f} s) ...")
                            e2e = _end_to_end(size, args, backend, precision, subscribe)
                            results["runs"].append({**entry, "end_to_end": e2e})
                    time.sleep(0.5)
        finally:
            rclpy.try_shutdown()
    write_json(Path(args.out), results)
    _print_table(results)
    print(f"wrote {args.out}")
    return 0


def _print_table(results: dict) -> None:
    print(f"\nmachine: {results['machine']}")
    header = (
        "| frame | backend | forward ms | node total ms | all but forward ms | "
        "subscribed | e2e fps | e2e p50 / p90 / p99 ms | lost | dropped |"
    )
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for entry in results["runs"]:
        stages = entry["in_process"]["stages_ms"]
        e2e = entry.get("end_to_end")
        if e2e:
            latency = e2e["latency_ms"]
            e2e_cells = (
                f"{', '.join(e2e['subscribed'])} | "
                f"{e2e['output_fps']:.1f} | {latency['p50']:.0f} / {latency['p90']:.0f} / "
                f"{latency['p99']:.0f} | {e2e['lost']} | {e2e['dropped_by_node']}"
            )
        else:
            e2e_cells = "- | - | - | - | -"
        runtime = f"{entry['backend']} {entry['precision']}"
        if "crf" in stages:
            runtime += f", CRF {stages['crf']['mean']:.0f} ms"
        print(
            f"| {entry['frame']} | {runtime} | "
            f"{stages['inference']['mean']:.1f} | {stages['total']['mean']:.1f} | "
            f"{stages['non_inference']['mean']:.2f} | {e2e_cells} |"
        )
