"""Declarative node parameters: name, default, description and valid values (no ROS).

A ``ParamSpec`` is what a ROS parameter declaration needs (the node turns it into a
``ParameterDescriptor`` with its range) and what validation needs (one-line errors that
name the parameter). Pipeline stages declare theirs next to their code.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["ParamSpec", "ParameterError"]


class ParameterError(ValueError):
    """A parameter value is invalid; the message names the parameter."""


@dataclass(frozen=True)
class ParamSpec:
    """One parameter.

    Args:
        name: parameter name.
        default: default value; its type is the parameter's type.
        description: one line for ``ros2 param describe`` and the README.
        bounds: inclusive (low, high) for numbers.
        low_open: the low bound is excluded (e.g. a gap that must be positive).
        choices: the allowed strings.
        runtime: settable while the node runs (else read-only).
        check: extra check returning an error text (without the name) or None.
    """

    name: str
    default: Any
    description: str
    bounds: tuple[float, float] | None = None
    low_open: bool = False
    choices: Sequence[str] | None = None
    runtime: bool = False
    check: Callable[[Any], str | None] | None = None

    def validate(self, value: Any) -> None:
        """Raise ``ParameterError`` (``"<name> must ..., got <value>"``) if ``value`` is bad."""
        if (
            isinstance(self.default, float)
            and isinstance(value, float)
            and not math.isfinite(value)
        ):
            raise ParameterError(f"{self.name} must be a finite number, got {value!r}")
        if self.choices is not None and value not in self.choices:
            raise ParameterError(
                f"{self.name} must be one of {', '.join(self.choices)}, got {value!r}"
            )
        if self.bounds is not None:
            low, high = self.bounds
            below = value <= low if self.low_open else value < low
            if below or value > high:
                opening = "(" if self.low_open else "["
                span = (
                    f"{low}..{high}"
                    if isinstance(self.default, int) and not self.low_open
                    else f"{opening}{low}, {high}]"
                )
                raise ParameterError(f"{self.name} must be in {span}, got {value!r}")
        if self.check is not None:
            problem = self.check(value)
            if problem:
                raise ParameterError(f"{self.name} {problem}, got {value!r}")
