"""Python message and service classes from type names (``sensor_msgs/msg/Image``,
``std_srvs/srv/Trigger``), for the bag tools and the ``ros`` commands."""

from __future__ import annotations

import importlib

from ..bags.image_messages import UnsupportedImageError

__all__ = ["message_class", "service_class"]


def interface_class(type_name: str, kind: str) -> type:
    """The rclpy class of ``type_name`` (``package/<kind>/Name``, kind ``msg`` or ``srv``).

    Raises:
        UnsupportedImageError: a malformed name, or no Python package provides the type.
    """
    what = {"msg": "message", "srv": "service"}[kind]
    parts = type_name.split("/")
    if len(parts) != 3 or parts[1] != kind or not all(parts):
        raise UnsupportedImageError(f"unsupported {what} type {type_name!r}")
    package, _, name = parts
    try:
        return getattr(importlib.import_module(f"{package}.{kind}"), name)
    except (ImportError, AttributeError) as exc:
        raise UnsupportedImageError(
            f"unsupported {what} type {type_name}: no Python {what} package provides it"
        ) from exc


def message_class(msgtype: str) -> type:
    """The rclpy message class of ``msgtype`` (``package/msg/Name``)."""
    return interface_class(msgtype, "msg")


def service_class(srvtype: str) -> type:
    """The rclpy service class of ``srvtype`` (``package/srv/Name``)."""
    return interface_class(srvtype, "srv")
