"""ROS messages as plain data (for YAML) and back: what ``ros2 topic echo`` and
``ros2 service call`` do with rosidl_runtime_py, which is not on PyPI."""

from __future__ import annotations

import array
import importlib
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["message_to_data", "fill_message"]

LONG_ARRAY = 32  # sequences longer than this print as "<N values>" unless asked in full


def is_message(value: Any) -> bool:
    return hasattr(type(value), "get_fields_and_field_types")


def message_to_data(msg: Any, full_arrays: bool = False) -> Any:
    """``msg`` as dicts, lists and scalars; long arrays (an image's pixels) summarised."""
    if is_message(msg):
        return {
            name: message_to_data(getattr(msg, name), full_arrays)
            for name in type(msg).get_fields_and_field_types()
        }
    if isinstance(msg, bytes) and len(msg) == 1:  # an octet field (DiagnosticStatus.level)
        return msg[0]
    if isinstance(msg, (bytes, bytearray, array.array, np.ndarray, list, tuple)):
        values = list(msg)
        if not full_arrays and len(values) > LONG_ARRAY:
            return f"<{len(values)} values>"
        return [message_to_data(value, full_arrays) for value in values]
    if isinstance(msg, np.generic):
        return msg.item()
    return msg


def fill_message(msg: Any, data: Mapping[str, Any], path: str = "") -> Any:
    """Set ``msg``'s fields from ``data`` (nested mappings for nested messages); returns it.

    Raises:
        ValueError: a field the message does not have, or a value of the wrong type,
            named by its path (``header.stamp.sec``).
    """
    if not isinstance(data, Mapping):
        where = path.rstrip(".") or "the message"
        raise ValueError(f"{where} must be a mapping of fields, got {data!r}")
    fields = type(msg).get_fields_and_field_types()
    for name, value in data.items():
        where = f"{path}{name}"
        if name not in fields:
            known = list(fields)
            raise ValueError(f"{type(msg).__name__} has no field {where!r}; fields: {known}")
        current = getattr(msg, name)
        try:
            if is_message(current):
                fill_message(current, value, f"{where}.")
            elif isinstance(value, list) and value and isinstance(value[0], Mapping):
                element = _element_class(msg, name)
                items = [fill_message(element(), v, f"{where}[{i}].") for i, v in enumerate(value)]
                setattr(msg, name, items)
            else:
                setattr(msg, name, _checked(current, value, where))
        except (AssertionError, TypeError) as exc:
            raise ValueError(f"bad value for {where}: {value!r} ({exc})") from None
    return msg


def _checked(current: Any, value: Any, where: str) -> Any:
    """``value`` for a field now holding ``current``, or ValueError when its type is wrong
    (rosidl's setters check types only in some builds)."""
    expected: tuple[type, ...] | None = None
    if isinstance(current, bool):
        expected = (bool,)
    elif isinstance(current, int):
        expected = (int,)
    elif isinstance(current, float):
        expected = (int, float)
    elif isinstance(current, str):
        expected = (str,)
    elif isinstance(current, bytes) and len(current) == 1:  # an octet field
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 255:
            return bytes([value])
        raise ValueError(f"bad value for {where}: {value!r} (a byte, 0..255)")
    elif isinstance(current, (list, array.array, np.ndarray, bytes)):
        expected = (list,)
    if expected is not None and (
        not isinstance(value, expected) or (bool not in expected and isinstance(value, bool))
    ):
        names = " or ".join(t.__name__ for t in expected)
        raise ValueError(f"bad value for {where}: {value!r} (expected {names})")
    return float(value) if isinstance(current, float) else value


def _element_class(msg: Any, name: str) -> type:
    """The message class of the elements of sequence field ``name``
    (``sequence<pkg/Name>``, ``sequence<pkg/Name, 5>`` or ``pkg/Name[3]``)."""
    field_type = type(msg).get_fields_and_field_types()[name]
    inner = field_type.removeprefix("sequence<").split(",")[0].split("[")[0].rstrip(">")
    package, _, type_name = inner.partition("/")
    return getattr(importlib.import_module(f"{package}.msg"), type_name)
