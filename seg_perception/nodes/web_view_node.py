"""``segmentation_view``: a segmentation node's outputs in a browser, no RViz needed.

Subscribes ``<node>/overlay``, ``<node>/labels``, ``<node>/class_names`` (relative
names: they follow this node's namespace, as the segmentation node's do) and
``/diagnostics``, and serves them on ``http://host:port/`` (``web/server.py``). The
callbacks only store the newest message; encoding and serving happen in the server's
thread, so a slow browser never holds up ROS.
"""

from __future__ import annotations

import json
import sys

from diagnostic_msgs.msg import DiagnosticArray
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import Image
from std_msgs.msg import String

from ..image_codec import ImageDecodeError, image_msg_to_array, image_msg_to_rgb
from ..parameters import ParameterError, ParamSpec
from ..web.live_state import LiveState
from ..web.server import WebServer
from .node_main import run_node
from .parameter_declaration import declare_specs

__all__ = ["WebViewNode", "VIEW_PARAMS", "main"]

NODE_NAME = "segmentation_view"
_LEVELS = {0: "OK", 1: "WARN", 2: "ERROR", 3: "STALE"}
_LATCHED = QoSProfile(
    depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
)

VIEW_PARAMS = (
    ParamSpec(
        "node",
        "segmentation_node",
        "The segmentation node to show: its name in this node's namespace, or a full name",
    ),
    ParamSpec(
        "host",
        "127.0.0.1",
        "Address to serve on; 127.0.0.1 = this machine only (0.0.0.0: every interface)",
    ),
    ParamSpec("port", 8080, "TCP port of the page (0: any free port, logged)", bounds=(0, 65535)),
    ParamSpec(
        "max_fps",
        30.0,
        "At most this many pictures a second per browser",
        bounds=(0.0, 120.0),
        low_open=True,
    ),
    ParamSpec(
        "stale_after_s",
        2.0,
        "Seconds without an overlay before the page says no frames arrive",
        bounds=(0.0, 3600.0),
        low_open=True,
    ),
    ParamSpec(
        "side_by_side", False, "Show the camera image beside the overlay (subscribes camera_topic)"
    ),
    ParamSpec("camera_topic", "image", "Camera topic for side_by_side (relative: follows remaps)"),
)


class WebViewNode(Node):
    """See the module docstring."""

    def __init__(self, **node_kwargs) -> None:
        super().__init__(NODE_NAME, **node_kwargs)
        p = declare_specs(self, VIEW_PARAMS)
        for spec in VIEW_PARAMS:
            spec.validate(p[spec.name])
        target = p["node"].rstrip("/")
        if not target:
            raise ParameterError("node must name the segmentation node, got ''")
        self.target = self._full_name(target)
        overlay_topic = self.resolve_topic_name(f"{target}/overlay")
        self.state = LiveState(overlay_topic, side_by_side=p["side_by_side"])
        self.server = WebServer(self.state, p["host"], p["port"], p["max_fps"], p["stale_after_s"])
        self.server.start()  # OSError (address in use): one line at start-up
        sensor = qos_profile_sensor_data
        self.create_subscription(Image, f"{target}/overlay", self._on_overlay, sensor)
        self.create_subscription(Image, f"{target}/labels", self._on_labels, sensor)
        self.create_subscription(String, f"{target}/class_names", self._on_classes, _LATCHED)
        self.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, 10)
        if p["side_by_side"]:
            self.create_subscription(Image, p["camera_topic"], self._on_camera, sensor)
        self.bad_messages = 0
        self.get_logger().info(
            f"live view of {self.target} on {self.server.url} (overlay: {overlay_topic})"
        )

    def _full_name(self, name: str) -> str:
        if name.startswith("/"):
            return name
        namespace = self.get_namespace().rstrip("/")
        return f"{namespace}/{name}"

    def _on_overlay(self, msg: Image) -> None:
        self._store(lambda: self.state.set_overlay(image_msg_to_rgb(msg)), "overlay")

    def _on_camera(self, msg: Image) -> None:
        self._store(lambda: self.state.set_camera(image_msg_to_rgb(msg)), "camera")

    def _on_labels(self, msg: Image) -> None:
        self._store(lambda: self.state.set_labels(image_msg_to_array(msg)), "labels")

    def _on_classes(self, msg: String) -> None:
        def store() -> None:
            document = json.loads(msg.data)
            self.state.set_classes(list(document["classes"]), list(document.get("taught", [])))

        self._store(store, "class_names")

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            if status.name == f"{self.target}: segmentation":
                level = status.level
                number = level[0] if isinstance(level, bytes | bytearray) else int(level)
                values = {kv.key: kv.value for kv in status.values}
                self.state.set_diagnostics(_LEVELS.get(number, "?"), status.message, values)

    def _store(self, store, what: str) -> None:
        """Run ``store``; a message that cannot be shown is counted and warned about
        (throttled), and the view goes on."""
        try:
            store()
        except (ImageDecodeError, ValueError, KeyError, TypeError) as exc:
            self.bad_messages += 1
            self.get_logger().warning(
                f"cannot show a {what} message: {exc}", throttle_duration_sec=10.0
            )

    def destroy_node(self) -> None:
        self.server.stop()
        super().destroy_node()


def main(args: list[str] | None = None) -> int:
    return run_node(NODE_NAME, WebViewNode, (ParameterError, OSError, ValueError), args)


if __name__ == "__main__":
    sys.exit(main())
