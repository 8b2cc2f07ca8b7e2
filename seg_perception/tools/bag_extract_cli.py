"""``seg-perception bag-extract BAG [--topic T] [--every 1.0] --out DIR [--format png|jpg]``:
frames of an image topic of a bag (rosbag2 sqlite3/MCAP or ROS 1) as
``<sec>_<nanosec>.png`` files named by header stamp, for a labelling tool; without ROS."""

from __future__ import annotations

import argparse

from ..bags.bag_extract import FORMATS
from .arg_types import jpeg_quality, non_negative_float


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("bag", help="rosbag2 folder, .mcap, .db3 or ROS 1 .bag")
    parser.add_argument(
        "--topic", help="Image or CompressedImage topic (omitted: the bag's only image topic)"
    )
    parser.add_argument(
        "--every",
        type=non_negative_float,
        default=1.0,
        help="at most one frame per this many seconds of header stamp (0: every frame)",
    )
    parser.add_argument("--out", required=True, help="output folder (created)")
    parser.add_argument(
        "--format", choices=tuple(FORMATS), default="png", help="png (lossless) or jpg"
    )
    parser.add_argument(
        "--jpeg-quality", type=jpeg_quality, default=95, help="JPEG quality of --format jpg"
    )


def run(args: argparse.Namespace) -> int:
    from ..bags.bag_extract import extract_frames
    from ..bags.bag_reader import BagReader

    with BagReader(args.bag) as bag:
        result = extract_frames(
            bag,
            args.out,
            args.topic,
            every=args.every,
            suffix=args.format,
            jpeg_quality=args.jpeg_quality,
        )
    duplicates = f", {result.duplicates} duplicate stamps" if result.duplicates else ""
    print(
        f"{result.read} frames of {result.topic} read: {result.written} written, "
        f"{result.thinned} skipped by --every {args.every:g} s, {result.undecodable} "
        f"undecodable{duplicates}; in {result.out}"
    )
    for reason in result.reasons:
        print(f"  undecodable: {reason}")
    return 0
