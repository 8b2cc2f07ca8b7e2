"""The RViz config of a launched segmentation node: the template's displays pointed at the
node's real topics (namespace and remaps applied). No ROS imports."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from .io_utils import atomic_write

__all__ = ["render_rviz_config", "write_rviz_config", "display_topics"]

# display name in config/rviz/segmentation.rviz -> what it shows
_CAMERA = "Camera"
_NODE_OUTPUTS = {
    "Segmentation overlay": "overlay",
    "Confidence": "confidence",
    "Class legend": "legend",
}


def _node_path(namespace: str, node_name: str) -> str:
    parts = [p for p in (namespace.strip("/"), node_name) if p]
    return "/" + "/".join(parts)


def render_rviz_config(
    template: str, camera_topic: str, namespace: str = "", node_name: str = "segmentation_node"
) -> str:
    """The template (YAML text) with its Camera, overlay and confidence displays on the
    node's topics and all of them enabled.

    Args:
        template: the ``.rviz`` template text.
        camera_topic: the camera topic as the node subscribes it (``<image>`` or
            ``<image>/compressed``; RViz picks the transport from the suffix).
        namespace: the node's namespace.
        node_name: the node's name.
    """
    config = yaml.safe_load(template)
    node = _node_path(namespace, node_name)
    for display in config["Visualization Manager"]["Displays"]:
        name = display.get("Name")
        if name == _CAMERA:
            display["Topic"]["Value"] = camera_topic
        elif name in _NODE_OUTPUTS:
            display["Topic"]["Value"] = f"{node}/{_NODE_OUTPUTS[name]}"
        else:
            continue
        display["Enabled"] = True
        display["Value"] = True
    return yaml.safe_dump(config, sort_keys=False)


def write_rviz_config(path: str | os.PathLike, text: str) -> Path:
    """Write a rendered config atomically and return its path."""
    with atomic_write(path) as tmp:
        Path(tmp).write_text(text)
    return Path(path)


def display_topics(config_text: str) -> dict[str, str]:
    """``{display name: topic}`` of the enabled image displays of a config."""
    config = yaml.safe_load(config_text)
    return {
        display["Name"]: display["Topic"]["Value"]
        for display in config["Visualization Manager"]["Displays"]
        if display.get("Enabled") and "Topic" in display
    }
