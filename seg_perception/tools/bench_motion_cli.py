"""``seg-perception bench-motion``: optical flow and two-stream latency on DAVIS frames.

For each frame size: every flow method on consecutive frames, then the motion pipeline
(resize, flow, network, mask at frame size) with the two-stream model and with the
single-stream one, the network running at the frame's own size. Medians over the frames.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .arg_types import frame_size, positive_int, thread_count


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-root", help="folder holding davis2016/ (else $SEG_PERCEPTION_DATA)"
    )
    parser.add_argument("--sequence", default="bmx-trees", help="DAVIS sequence to time on")
    parser.add_argument("--frames", type=positive_int, default=30, help="consecutive frames timed")
    parser.add_argument(
        "--sizes", nargs="+", type=frame_size, default=[(480, 360), (854, 480)], help="WxH sizes"
    )
    parser.add_argument(
        "--threads", type=thread_count, default=0, help="torch threads (0 = default)"
    )
    parser.add_argument("--out", default="out/bench_motion", help="output folder")


def run(args: argparse.Namespace) -> int:
    import torch

    from ..data import resolve_data_root
    from ..data.davis import load_sequence
    from ..evaluation.motion_bench import time_flow_methods, time_motion_pipeline
    from ..io_utils import write_json
    from .machine import describe_machine

    if args.threads:
        torch.set_num_threads(args.threads)
    sequence = load_sequence(resolve_data_root(args.data_root), args.sequence)
    frames = [sequence.frame(i) for i in range(min(args.frames, len(sequence)))]
    machine = describe_machine(torch.device("cpu"))
    report: dict = {"machine": machine, "sequence": args.sequence, "sizes": {}}
    print(f"{machine}; DAVIS {args.sequence}, {len(frames)} frames, medians in ms")
    print(
        "| frame | DIS ultrafast | DIS fast | DIS medium | Farneback "
        "| two-stream: flow + net + mask | single-stream: net + mask |"
    )
    print("|---|---|---|---|---|---|---|")
    for size in args.sizes:
        flow = time_flow_methods(frames, size)
        two = time_motion_pipeline(frames, size, use_flow=True)
        one = time_motion_pipeline(frames, size, use_flow=False)
        report["sizes"][f"{size[0]}x{size[1]}"] = {"flow": flow, "two_stream": two, "single": one}
        print(
            f"| {size[0]}x{size[1]} | {flow['dis/ultrafast']:.1f} | {flow['dis/fast']:.1f} | "
            f"{flow['dis/medium']:.1f} | {flow['farneback']:.1f} | "
            f"{two['total']:.0f} ({two['flow']:.1f} + {two['inference']:.0f} + "
            f"{two['postprocess']:.1f}) | {one['total']:.0f} ({one['inference']:.0f} + "
            f"{one['postprocess']:.1f}) |"
        )
    write_json(Path(args.out) / "bench_motion.json", report)
    print(f"wrote {Path(args.out) / 'bench_motion.json'}")
    return 0
