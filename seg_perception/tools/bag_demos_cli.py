"""``seg-perception bag-demos BAG --image-topic T [--labels-topic L | --teacher C] --out F``."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("bag", help="rosbag2 folder, .mcap, .db3 or ROS 1 .bag")
    parser.add_argument("--image-topic", required=True, help="camera topic")
    parser.add_argument("--cmd-topic", default="/cmd_vel", help="geometry_msgs/Twist commands")
    parser.add_argument(
        "--label-topic", "--labels-topic", dest="labels_topic",
        help="mono8 labels in the bag (else --teacher)",
    )  # fmt: skip
    parser.add_argument(
        "--teacher",
        help="segmentation checkpoint over the driving classes "
        "for pseudo-labels (default: the bundled policy's segmentation.pt)",
    )
    parser.add_argument("--out", required=True, help="output .npz (train-policy demos)")


def run(args: argparse.Namespace) -> int:
    from ..checkpoint import DRIVING_SEGMENTATION_CHECKPOINT
    from ..driving.bag_demos import demos_from_bag
    from ..driving.demos import save_demos

    teacher = None if args.labels_topic else (args.teacher or DRIVING_SEGMENTATION_CHECKPOINT)
    demos, counts = demos_from_bag(
        args.bag, args.image_topic, args.cmd_topic, args.labels_topic, teacher
    )
    save_demos(args.out, demos)
    source = (
        f"labels from {args.labels_topic}" if args.labels_topic else f"pseudo-labels by {teacher}"
    )
    print(
        f"{counts['paired']} of {counts['frames']} frames paired with a command "
        f"({source}) -> {args.out}"
    )
    return 0
