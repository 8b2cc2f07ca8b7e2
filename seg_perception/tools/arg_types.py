"""argparse types for the CLI verbs: numbers in their valid range, rejected in one line."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

__all__ = [
    "positive_int",
    "non_negative_int",
    "thread_count",
    "positive_float",
    "non_negative_float",
    "finite_float",
    "unit_float",
    "jpeg_quality",
    "spec_type",
    "positive_float_list",
    "adaptation_list",
    "frame_size",
]


def _number(text: str, kind: type) -> float:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if kind is float and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be finite, got {text}")
    return value


def _ranged(name: str, kind: type, accept: Callable[[float], bool], needs: str):
    """An argparse type: a ``kind`` number that ``accept`` takes, else "``needs``, got X"."""

    def parse(text: str):
        value = _number(text, kind)
        if not accept(value):
            raise argparse.ArgumentTypeError(f"{needs}, got {text}")
        return value

    parse.__name__ = name  # argparse names the type in its message
    return parse


positive_int = _ranged("positive_int", int, lambda v: v >= 1, "must be a positive integer")
non_negative_int = _ranged("non_negative_int", int, lambda v: v >= 0, "must be 0 or more")
thread_count = _ranged(  # torch CPU threads: 0 keeps torch's default
    "thread_count", int, lambda v: v >= 0, "must be 0 (torch's default) or more"
)
jpeg_quality = _ranged("jpeg_quality", int, lambda v: 1 <= v <= 100, "must be in 1..100")
finite_float = _ranged("finite_float", float, lambda v: True, "")
positive_float = _ranged("positive_float", float, lambda v: v > 0, "must be positive")
non_negative_float = _ranged("non_negative_float", float, lambda v: v >= 0, "must be 0 or more")
unit_float = _ranged("unit_float", float, lambda v: 0.0 <= v <= 1.0, "must be in [0, 1]")


def spec_type(spec) -> Callable[[str], object]:
    """An argparse type for a node parameter's ``ParamSpec``: its type, its range."""
    from ..parameters import ParameterError

    def parse(text: str):
        value = _number(text, type(spec.default))
        try:
            spec.validate(value)
        except ParameterError as exc:
            raise argparse.ArgumentTypeError(str(exc).removeprefix(spec.name).strip()) from None
        return value

    parse.__name__ = spec.name  # argparse names the type in its message
    return parse


def _float_list(text: str, accept: Callable[[float], bool], needs: str) -> list[float]:
    """Comma-separated finite numbers, each passing ``accept`` (else: they ``needs``)."""
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not comma-separated numbers: {text!r}") from None
    if not values or any(not math.isfinite(v) or not accept(v) for v in values):
        raise argparse.ArgumentTypeError(f"needs {needs}, got {text!r}")
    return values


def positive_float_list(text: str) -> list[float]:
    """``3,5,10``: positive finite numbers."""
    return _float_list(text, lambda v: v > 0, "positive finite numbers")


def adaptation_list(text: str) -> list[tuple[float, int]]:
    """``0:0,0.75:0,0:100``: (alpha in [0, 1], refine steps >= 0) pairs."""
    pairs = []
    for part in (p.strip() for p in text.split(",")):
        alpha, _, steps = part.partition(":")
        try:
            pair = (float(alpha), int(steps or 0))
        except ValueError:
            raise argparse.ArgumentTypeError(f"not alpha:steps pairs: {text!r}") from None
        if not 0.0 <= pair[0] <= 1.0 or pair[1] < 0:
            raise argparse.ArgumentTypeError(f"needs alpha in [0, 1] and steps >= 0, got {part!r}")
        pairs.append(pair)
    return pairs


def frame_size(text: str) -> tuple[int, int]:
    """``WIDTHxHEIGHT`` (``480x360``), each side at least 32 pixels."""
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size {text!r} is not WIDTHxHEIGHT (480x360)") from None
    if width < 32 or height < 32:
        raise argparse.ArgumentTypeError(f"size {text!r} is too small (32x32 at least)")
    return width, height
