"""``seg-perception ros <command>``: the ``ros2`` commands the README uses, for a pip
install without ros2cli.

here                                       with ROS 2 installed
ros topics                                 ros2 topic list -t -v
ros echo TOPIC [--once]                    ros2 topic echo TOPIC [--once]
ros call SERVICE [YAML]                    ros2 service call SERVICE TYPE [YAML]
ros lifecycle NODE TRANSITION              ros2 lifecycle set NODE TRANSITION
ros send-mask NODE MASK.png --camera T     (no ros2 command: a script)
"""

from __future__ import annotations

import argparse

import yaml

from .arg_types import positive_float, positive_int


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..nodes.ros_commands import TRANSITIONS
    from .cli_parsing import HelpFormatter as defaults

    parser.epilog = __doc__.split("\n\n", 1)[1]
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    topics = commands.add_parser(
        "topics",
        help="topics with types, publishers, subscribers and QoS",
        formatter_class=defaults,
    )
    topics.add_argument(
        "--wait", type=positive_float, default=3.5,
        help="seconds of discovery (Fast DDS announces participants every 3 s)",
    )  # fmt: skip

    echo = commands.add_parser(
        "echo", help="print a topic's messages as YAML", formatter_class=defaults
    )
    echo.add_argument("topic", help="topic name (absolute, or from the root namespace)")
    group = echo.add_mutually_exclusive_group()
    group.add_argument("--once", action="store_true", help="print one message and exit")
    group.add_argument("--count", type=positive_int, help="print N messages and exit")
    echo.add_argument("--full", action="store_true", help="print long arrays (pixels) in full")
    echo.add_argument(
        "--timeout", type=positive_float, default=10.0,
        help="seconds to wait for a publisher, and with --once/--count for the messages",
    )  # fmt: skip

    call = commands.add_parser(
        "call", help="call a service (type from the graph), print the response",
        formatter_class=defaults,
    )  # fmt: skip
    call.add_argument("service", help="service name, e.g. /segmentation_node/fewshot/sync")
    call.add_argument(
        "request", nargs="?", default="{}", help="request fields as YAML, e.g. '{data: true}'"
    )
    call.add_argument("--timeout", type=positive_float, default=30.0, help="seconds")

    lifecycle = commands.add_parser(
        "lifecycle", help="read or change a managed node's state", formatter_class=defaults
    )
    lifecycle.add_argument("node", help="the managed node, e.g. /segmentation_node")
    lifecycle.add_argument(
        "transition",
        choices=("get", *TRANSITIONS),
        help="get: print the state",
    )
    lifecycle.add_argument("--timeout", type=positive_float, default=30.0, help="seconds")

    send_mask = commands.add_parser(
        "send-mask",
        help="mark the object a VOS node (vos:=true) follows: MASK.png for the next frame",
        formatter_class=defaults,
    )
    send_mask.add_argument("node", help="the VOS node, e.g. /segmentation_node")
    send_mask.add_argument("mask", help="PNG of the frame's size, non-zero = object")
    send_mask.add_argument(
        "--camera", default="/camera/image_raw",
        help="the node's camera topic (sensor_msgs/Image or CompressedImage)",
    )  # fmt: skip
    send_mask.add_argument("--timeout", type=positive_float, default=15.0, help="seconds")


def run(args: argparse.Namespace) -> int:
    from ..nodes.ros_commands import graph_node

    with graph_node() as graph:
        return COMMANDS[args.command](graph, args)


def _print_yaml(data) -> None:
    print(yaml.safe_dump(data, sort_keys=False, width=100).rstrip(), flush=True)


def _topics(graph, args) -> int:
    from ..nodes.ros_commands import topic_summaries

    rows = topic_summaries(graph, args.wait)
    width = max((len(row.name) for row in rows), default=5)
    for row in rows:
        print(
            f"{row.name:<{width}}  {', '.join(row.types)}  pub {row.publishers} "
            f"sub {row.subscribers}  {row.qos}"
        )
    return 0


def _echo(graph, args) -> int:
    from ..nodes.message_text import message_to_data
    from ..nodes.ros_commands import echo_topic

    def show(msg) -> None:
        _print_yaml(message_to_data(msg, args.full))
        print("---", flush=True)

    count = 1 if args.once else args.count
    echo_topic(graph, args.topic, show, count, args.timeout)
    return 0


def _parse_request(text: str) -> dict:
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"the request is not YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise ValueError(f"the request must be a mapping of fields, e.g. '{{data: true}}': {text}")
    return data


def _call(graph, args) -> int:
    from ..nodes.message_text import fill_message, message_to_data
    from ..nodes.ros_commands import call_service

    fields = _parse_request(args.request)
    response = call_service(graph, args.service, lambda r: fill_message(r, fields), args.timeout)
    _print_yaml(message_to_data(response))
    return 0


def _lifecycle(graph, args) -> int:
    from ..nodes.ros_commands import lifecycle_transition

    state = lifecycle_transition(graph, args.node, args.transition, args.timeout)
    print(state if args.transition == "get" else f"{args.transition}: done; state {state}")
    return 0


def _send_mask(graph, args) -> int:
    from ..nodes.vos_mask_sender import send_vos_mask

    stamp = send_vos_mask(graph, args.node, args.mask, args.camera, args.timeout)
    print(
        f"{args.node} learns the object of {args.mask} (frame stamped {stamp}); follow it on "
        f"{args.node.rstrip('/')}/vos/mask, progress in /diagnostics (vos_state)"
    )
    return 0


COMMANDS = {
    "topics": _topics,
    "echo": _echo,
    "call": _call,
    "lifecycle": _lifecycle,
    "send-mask": _send_mask,
}
