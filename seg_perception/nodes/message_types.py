"""Python message classes from type names (``sensor_msgs/msg/Image``), for the bag tools."""

from __future__ import annotations

import importlib

from ..bags.image_messages import UnsupportedImageError

__all__ = ["message_class"]


def message_class(msgtype: str) -> type:
    """The rclpy message class of ``msgtype`` (``package/msg/Name``).

    Raises:
        UnsupportedImageError: a malformed name, or no Python package provides the type.
    """
    parts = msgtype.split("/")
    if len(parts) != 3 or parts[1] != "msg" or not all(parts):
        raise UnsupportedImageError(f"unsupported message type {msgtype!r}")
    package, _, name = parts
    try:
        return getattr(importlib.import_module(f"{package}.msg"), name)
    except (ImportError, AttributeError) as exc:
        raise UnsupportedImageError(
            f"unsupported message type {msgtype}: no Python message package provides it"
        ) from exc
