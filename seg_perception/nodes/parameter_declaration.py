"""Declare ``ParamSpec`` parameters on a node, with descriptors, ranges and validation."""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence
from typing import Any

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.exceptions import InvalidParameterTypeException, InvalidParameterValueException
from rclpy.node import Node

from ..parameters import ParameterError, ParamSpec

__all__ = [
    "declare_specs",
    "descriptor_of",
    "undeclared_overrides",
    "reject_non_finite",
    "runtime_change_problem",
]


def descriptor_of(spec: ParamSpec) -> ParameterDescriptor:
    """The spec's description, range and read-only flag as a ``ParameterDescriptor``."""
    descriptor = ParameterDescriptor(description=spec.description, read_only=not spec.runtime)
    if spec.choices is not None:
        descriptor.additional_constraints = "one of: " + ", ".join(spec.choices)
    if spec.bounds is not None:
        low, high = spec.bounds
        if isinstance(spec.default, bool):
            pass
        elif isinstance(spec.default, int):
            descriptor.integer_range = [
                IntegerRange(from_value=int(low), to_value=int(high), step=1)
            ]
        elif isinstance(spec.default, float) and not spec.low_open:
            descriptor.floating_point_range = [
                FloatingPointRange(from_value=float(low), to_value=float(high), step=0.0)
            ]
    return descriptor


def declare_specs(node: Node, specs: Sequence[ParamSpec]) -> dict[str, Any]:
    """Declare each spec and return the values (overrides from the command line or a
    params file applied); a value of the wrong type or out of range is a
    ``ParameterError`` naming the parameter."""
    values = {}
    for spec in specs:
        try:
            value = node.declare_parameter(spec.name, spec.default, descriptor_of(spec)).value
        except (InvalidParameterValueException, InvalidParameterTypeException) as exc:
            raise ParameterError(f"parameter {spec.name}: {exc}") from exc
        if value is None and isinstance(spec.default, list):
            value = []  # an empty list ("[]") arrives as a parameter without a value
        values[spec.name] = value
    return values


def undeclared_overrides(node: Node, declared: Sequence[str]) -> list[str]:
    """One line per parameter given to ``node`` (command line or params file) that it does
    not declare, e.g. a misspelt ``input_widht``, with the nearest declared name."""
    given = getattr(node, "_parameter_overrides", {})  # rclpy keeps no public accessor
    lines = []
    for name in sorted(given):
        if node.has_parameter(name):
            continue
        close = difflib.get_close_matches(name, list(declared), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        lines.append(f"parameter {name!r} is not a parameter of this node and is ignored{hint}")
    return lines


def reject_non_finite(values: dict[str, Any]) -> None:
    """Raise ``ParameterError`` for the first float value that is NaN or infinite (range
    checks written as comparisons let NaN through)."""
    for name, value in values.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise ParameterError(f"{name} must be a finite number, got {value!r}")


def runtime_change_problem(changes: Sequence[Any], specs: Sequence[ParamSpec]) -> str | None:
    """Why a ``set_parameters`` request cannot be applied (the first invalid value of a
    run-time parameter among ``specs``, one line), or None."""
    runtime = {spec.name: spec for spec in specs if spec.runtime}
    for change in changes:
        if change.name in runtime:
            try:
                runtime[change.name].validate(change.value)
            except ValueError as exc:
                return str(exc)
    return None
