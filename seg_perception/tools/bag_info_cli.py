"""``seg-perception bag-info --bag PATH [--json F]``: topics, types, counts, duration and
image encodings of a bag (rosbag2 sqlite3/MCAP or ROS 1), without ROS."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bag", required=True, help="rosbag2 folder, .mcap, .db3 or ROS 1 .bag")
    parser.add_argument("--json", help="also write the summary as JSON")


def run(args: argparse.Namespace) -> int:
    from ..bags.bag_info import bag_info
    from ..bags.bag_reader import BagReader
    from ..io_utils import write_json

    with BagReader(args.bag) as bag:
        info = bag_info(bag)
    print(
        f"{info['path']} ({info['format']}): {info['messages']} messages over "
        f"{info['duration_s']:.2f} s"
    )
    width = max((len(topic) for topic in info["topics"]), default=5)
    for topic, entry in info["topics"].items():
        details = ""
        if "encodings" in entry:
            details = "  " + ", ".join(entry["encodings"] + entry.get("sizes", []))
        print(f"  {topic:<{width}}  {entry['type']:<32} {entry['count']:>7}{details}")
    if args.json:
        write_json(args.json, info)
        print(f"wrote {args.json}")
    return 0
