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


def positive_int(text: str) -> int:
    value = _number(text, int)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def non_negative_int(text: str) -> int:
    value = _number(text, int)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def thread_count(text: str) -> int:
    """Torch CPU threads: 0 keeps torch's default."""
    value = _number(text, int)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 (torch's default) or more, got {text}")
    return value


def jpeg_quality(text: str) -> int:
    value = _number(text, int)
    if not 1 <= value <= 100:
        raise argparse.ArgumentTypeError(f"must be in 1..100, got {text}")
    return value


def finite_float(text: str) -> float:
    return _number(text, float)


def positive_float(text: str) -> float:
    value = _number(text, float)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def non_negative_float(text: str) -> float:
    value = _number(text, float)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def unit_float(text: str) -> float:
    value = _number(text, float)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1], got {text}")
    return value


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
