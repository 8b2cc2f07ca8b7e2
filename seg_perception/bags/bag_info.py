"""What is in a bag, without ROS: topics, types, counts, duration, image encodings."""

from __future__ import annotations

from typing import Any

from .bag_reader import BagReader
from .image_messages import COMPRESSED_TYPE, FRAME_ERRORS, IMAGE_TYPE

__all__ = ["bag_info"]

_SAMPLED = 50  # image messages read per topic to list encodings and sizes


def bag_info(bag: BagReader) -> dict[str, Any]:
    """``{"path", "format", "messages", "start_ns", "end_ns", "duration_s", "topics": {topic:
    {"type", "count", "encodings", "sizes"}}}``; image topics list the encodings (or
    compressed formats) and sizes of their first messages."""
    first = last = None
    topics: dict[str, dict[str, Any]] = {}
    for topic, (msgtype, count) in sorted(bag.topics().items()):
        entry: dict[str, Any] = {"type": msgtype, "count": count}
        if msgtype in (IMAGE_TYPE, COMPRESSED_TYPE):
            encodings, sizes = set(), set()
            for index, message in enumerate(bag.messages([topic])):
                if index >= _SAMPLED:
                    break
                try:
                    msg = bag.deserialize(message)
                except FRAME_ERRORS:
                    continue
                if msgtype == IMAGE_TYPE:
                    encodings.add(msg.encoding)
                    sizes.add(f"{msg.width}x{msg.height}")
                else:
                    encodings.add(msg.format or "unknown")
            entry["encodings"] = sorted(encodings)
            if sizes:
                entry["sizes"] = sorted(sizes)
        topics[topic] = entry
    for message in bag.messages():
        first = message.timestamp if first is None else min(first, message.timestamp)
        last = message.timestamp if last is None else max(last, message.timestamp)
    return {
        "path": str(bag.path),
        "format": "ROS 1" if bag.is_ros1 else "rosbag2",
        "messages": sum(entry["count"] for entry in topics.values()),
        "start_ns": first,
        "end_ns": last,
        "duration_s": (last - first) / 1e9 if first is not None else 0.0,
        "topics": topics,
    }
