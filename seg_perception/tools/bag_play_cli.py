"""``seg-perception bag-play --bag PATH [--rate 1.0] [--loop] [--topics ...]``: a bag, live.

Publishes the bag's messages over ROS 2 (rclpy, the current ``ROS_DOMAIN_ID``) with the
recorded gaps divided by ``--rate``, so the segmentation node can be fed from a bag on
machines without ``ros2 bag``. Header stamps stay as recorded.
"""

from __future__ import annotations

import argparse
import sys

from .arg_types import non_negative_float, positive_float


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bag", required=True, help="rosbag2 folder, .mcap, .db3 or ROS 1 .bag")
    parser.add_argument(
        "--rate", type=positive_float, default=1.0, help="speed factor (default 1.0)"
    )
    parser.add_argument("--loop", action="store_true", help="play again and again until Ctrl-C")
    parser.add_argument("--topics", nargs="+", help="topics to publish (default: all)")
    parser.add_argument(
        "--delay",
        type=non_negative_float,
        default=0.5,
        help="seconds before the first message (discovery)",
    )
    parser.add_argument(
        "--wait-timeout",
        type=non_negative_float,
        default=5.0,
        help="seconds to wait for a subscriber on every topic before playing (0: do not wait; "
        "default %(default)s)",
    )
    parser.add_argument(
        "--wait-for-subscribers",
        action="store_true",
        help="wait as long as it takes for a subscriber on every topic",
    )


def _select_topics(bag, requested: list[str] | None) -> list[str]:
    """The requested topics (each checked), or every topic whose type can be published."""
    from ..bags.image_messages import UnsupportedImageError
    from ..nodes.message_types import message_class

    if requested:
        for topic in requested:
            message_class(bag.topic_type(topic))
            bag.cdr_converter(bag.topic_type(topic))
        return list(dict.fromkeys(requested))
    playable = []
    for topic, (msgtype, _) in bag.topics().items():
        try:
            message_class(msgtype)
            bag.cdr_converter(msgtype)
        except UnsupportedImageError as exc:
            print(f"skipping {topic}: {exc}", file=sys.stderr)
            continue
        playable.append(topic)
    if not playable:
        raise ValueError(f"bag {bag.path} has no topic that can be published")
    return playable


def run(args: argparse.Namespace) -> int:
    from ..bags.bag_reader import BagReader

    with BagReader(args.bag) as bag:
        topics = _select_topics(bag, args.topics)
        from ..nodes.bag_player import play_bag

        published, missing = play_bag(
            bag,
            topics,
            rate=args.rate,
            loop=args.loop,
            delay=args.delay,
            wait_timeout=None if args.wait_for_subscribers else args.wait_timeout,
            warn=lambda line: print(f"seg-perception bag-play: warning: {line}", file=sys.stderr),
        )
    print(f"published {published} messages on {', '.join(topics)}")
    if missing:
        print(f"  with no subscriber: {', '.join(missing)}")
    return 0
