"""``seg-perception bag-make --images DIR [--labels DIR] --out OUT --rate HZ``: image
sequence -> bag; or ``--data SPEC --split test``: a dataset split with its masks (as
training ids, what ``bag-eval`` scores a checkpoint of those classes against).

Images (file-name order) go on ``/camera/image_raw`` (rgb8, bgr8, mono8) or
``/camera/image_raw/compressed`` (jpeg, png), labels on ``/camera/labels`` (mono8),
stamped ``start + i / rate``. ``OUT`` ending in ``.mcap`` or ``.db3`` is a bare rosbag2
storage file, ``.bag`` a ROS 1 bag, anything else a rosbag2 folder.
"""

from __future__ import annotations

import argparse

from ..bags.bag_make import ENCODINGS
from .arg_types import finite_float, jpeg_quality, positive_float, positive_int
from .dataset_args import add_dataset_arguments, labelled_data_of


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--images", help="folder of images (name order); or --data")
    parser.add_argument("--labels", help="folder of single-channel <image stem>.png class ids")
    add_dataset_arguments(parser)
    parser.add_argument("--split", default="test", help="the split of --data to play")
    parser.add_argument("--out", required=True, help="OUT.mcap, OUT.db3, OUT.bag or a folder")
    parser.add_argument(
        "--rate", type=positive_float, required=True, help="frames per second (Hz)"
    )
    parser.add_argument("--encoding", default="rgb8", choices=ENCODINGS, help="image encoding")
    parser.add_argument("--frame-id", default="camera", help="header frame_id")
    parser.add_argument(
        "--storage",
        choices=["mcap", "sqlite3"],
        help="rosbag2 storage of a folder OUT (default mcap; .mcap/.db3 imply it)",
    )
    parser.add_argument("--ros1", action="store_true", help="write a ROS 1 bag (OUT.bag)")
    parser.add_argument(
        "--jpeg-quality", type=jpeg_quality, default=95, help="JPEG quality (1..100)"
    )
    parser.add_argument(
        "--start-time",
        type=finite_float,
        help="first stamp, seconds since the epoch (default: now)",
    )
    parser.add_argument("--limit", type=positive_int, help="use only the first N images")
    parser.add_argument("--compress", action="store_true", help="zstd chunk compression (MCAP)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing OUT")


def run(args: argparse.Namespace) -> int:
    from ..bags.bag_make import make_bag

    if args.ros1 and args.storage:
        raise ValueError("--ros1 and --storage exclude each other")
    if (args.images is None) == (args.data is None):
        raise ValueError("give --images DIR or --data SPEC (a dataset split), one of them")
    if args.data and args.labels:
        raise ValueError("--labels goes with --images; --data brings its own masks")
    made = make_bag(
        args.images,
        args.out,
        args.rate,
        encoding=args.encoding,
        labels=args.labels,
        frame_id=args.frame_id,
        storage="ros1" if args.ros1 else args.storage,
        jpeg_quality=args.jpeg_quality,
        start_time=args.start_time,
        limit=args.limit,
        compress=args.compress,
        overwrite=args.overwrite,
        dataset=labelled_data_of(args) if args.data else None,
        split=args.split,
    )
    topics = made.image_topic + (f" and {made.label_topic}" if made.label_topic else "")
    print(
        f"wrote {made.path} ({made.storage}, {made.size_bytes / 1e6:.1f} MB): {made.frames} "
        f"frames ({args.encoding}) at {args.rate:g} Hz on {topics}, first stamp {made.first_stamp}"
    )
    return 0
