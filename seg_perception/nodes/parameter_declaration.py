"""Declare ``ParamSpec`` parameters on a node, with descriptors, ranges and validation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.exceptions import InvalidParameterTypeException, InvalidParameterValueException
from rclpy.node import Node

from ..parameters import ParameterError, ParamSpec

__all__ = ["declare_specs", "descriptor_of"]


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
            values[spec.name] = node.declare_parameter(
                spec.name, spec.default, descriptor_of(spec)
            ).value
        except (InvalidParameterValueException, InvalidParameterTypeException) as exc:
            raise ParameterError(f"parameter {spec.name}: {exc}") from exc
    return values
