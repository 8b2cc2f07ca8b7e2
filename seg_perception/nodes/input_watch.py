"""Why a node receives no frame: what the input topic is, and which image topics are
published instead (the other transport of the same camera, or a remap to suggest)."""

from __future__ import annotations

from rclpy.node import Node
from sensor_msgs.msg import CompressedImage, Image

__all__ = ["IMAGE_TYPES", "silent_input_reason", "transport_hint"]

IMAGE_TYPES = {
    "raw": ("sensor_msgs/msg/Image", Image),
    "compressed": ("sensor_msgs/msg/CompressedImage", CompressedImage),
}


def transport_hint(topic: str, transport: str, published: dict[str, set[str]]) -> str:
    """How to read what is published instead of ``topic`` (empty when nothing fits):
    the other transport of the same camera, else the remap to an image topic."""
    if transport == "raw" and "CompressedImage" in published.get(f"{topic}/compressed", ()):
        return f" ({topic}/compressed is: -p input_transport:=compressed reads it)"
    base = topic.removesuffix("/compressed")
    if transport == "compressed" and "Image" in published.get(base, ()):
        return f" ({base} is raw: -p input_transport:=raw reads it)"
    if published and topic not in published:
        return " (remap the input to one: -r image:=TOPIC)"
    return ""


def silent_input_reason(
    node: Node, topic: str, transport: str, reliability: str, idle_s: float, never: bool
) -> str:
    """One line: nothing on ``topic`` for ``idle_s`` (``never``: not a single frame yet),
    the image topics others publish, and how to read the one that fits."""
    own = node.get_fully_qualified_name() + "/"
    published = {
        name: {t.rsplit("/", 1)[-1] for t in types}
        for name, types in node.get_topic_names_and_types()
        if set(types) & {"sensor_msgs/msg/Image", "sensor_msgs/msg/CompressedImage"}
        and not name.startswith(own)
        and node.count_publishers(name) > 0
    }
    seen = sorted(f"{name} ({'/'.join(sorted(kinds))})" for name, kinds in published.items())
    what = "no frame yet" if never else "the stream stopped"
    return (
        f"{what}: nothing on {topic} ({IMAGE_TYPES[transport][0]}, {reliability}) for "
        f"{idle_s:.0f} s; published image topics: {', '.join(seen) or 'none'}"
        + transport_hint(topic, transport, published)
    )
