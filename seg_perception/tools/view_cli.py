"""``seg-perception view``: a segmentation node's overlay, classes and diagnostics live in a
browser at http://127.0.0.1:8080/ (the ``segmentation_view`` node; RViz not needed).

Serves this machine only unless ``--host`` says otherwise: ``--host 0.0.0.0`` lets
anyone on the network watch the camera.
"""

from __future__ import annotations

import argparse
import socket

from .arg_types import positive_float


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--node", default="/segmentation_node", help="the segmentation node's full name"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to serve on")
    parser.add_argument("--port", type=int, default=8080, help="TCP port (0: any free port)")
    parser.add_argument(
        "--max-fps", type=positive_float, default=30.0, help="pictures a second per browser"
    )
    parser.add_argument(
        "--side-by-side", action="store_true", help="camera | overlay (subscribes --camera)"
    )
    parser.add_argument(
        "--camera", default="/camera/image_raw", help="camera topic for --side-by-side"
    )


def run(args: argparse.Namespace) -> int:
    from ..nodes.web_view_node import main as view_main

    if not 0 <= args.port <= 65535:
        raise ValueError(f"--port must be in 0..65535, got {args.port}")
    check_address_free(args.host, args.port)
    ros_args = [
        "--ros-args",
        "-p", f"node:={args.node}",
        "-p", f"host:={args.host}",
        "-p", f"port:={args.port}",
        "-p", f"max_fps:={args.max_fps}",
        "-p", f"side_by_side:={str(args.side_by_side).lower()}",
        "-p", f"camera_topic:={args.camera}",
    ]  # fmt: skip
    return view_main(ros_args)


def check_address_free(host: str, port: int) -> None:
    """``OSError`` with one line when ``host:port`` cannot be bound (a port in use)."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise OSError(
                f"cannot serve on {host}:{port}: {exc.strerror or exc} (choose another --port)"
            ) from None
