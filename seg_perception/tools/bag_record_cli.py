"""``seg-perception bag-record --topics ... --out OUT.mcap [--duration S]``: live -> MCAP.

Subscribes each topic once a publisher of it appears and writes an MCAP rosbag2
(``OUT.mcap`` file, or a folder with ``metadata.yaml`` for any other name) with the
message definitions embedded. Ends after ``--duration`` seconds or on Ctrl-C; the
bag appears at ``OUT`` only when complete.
"""

from __future__ import annotations

import argparse

from .arg_types import positive_float


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--topics", nargs="+", required=True, help="topics to record")
    parser.add_argument("--out", required=True, help="OUT.mcap, or a folder for a rosbag2 bag")
    parser.add_argument(
        "--duration", type=positive_float, help="seconds to record (default: until Ctrl-C)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing OUT")


def run(args: argparse.Namespace) -> int:
    from ..bags.bag_writer import BagWriter
    from ..nodes.bag_recorder import absolute_topic
    from .cli_parsing import UserError

    with BagWriter(args.out, "mcap", overwrite=args.overwrite) as writer:
        from ..nodes.bag_recorder import record_bag

        record_bag(writer, args.topics, args.duration)
    counts = ", ".join(f"{topic} {count}" for topic, count in writer.counts.items())
    empty = [t for t in args.topics if not writer.counts.get(absolute_topic(t))]
    print(f"wrote {args.out}: {counts or 'no messages'}")
    if empty:
        raise UserError(
            f"nothing was recorded on {', '.join(empty)} (no publisher, or none matched): "
            f"{args.out} lacks them"
        )
    return 0
