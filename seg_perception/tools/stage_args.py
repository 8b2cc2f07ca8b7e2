"""Command-line options made from the optional stages' parameters: each ``ParamSpec``
becomes ``--<name-with-dashes>`` with the node parameter's type, range, choices and
default, so a new stage's parameters reach ``bag-eval`` with no CLI edit."""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from typing import Any

from ..parameters import ParamSpec
from ..stages.base import StageSpec
from .arg_types import spec_type

__all__ = ["add_param_argument", "add_stage_arguments", "stage_param_values"]


def add_param_argument(parser: argparse.ArgumentParser | Any, spec: ParamSpec) -> None:
    """``--<spec name>``: a ``--x/--no-x`` switch for a bool, several words for a list,
    else one value checked as the node checks the parameter."""
    flag = "--" + spec.name.replace("_", "-")
    text = spec.description.replace("%", "%%")
    if isinstance(spec.default, bool):
        parser.add_argument(
            flag, action=argparse.BooleanOptionalAction, default=spec.default, help=text
        )
    elif isinstance(spec.default, list):
        parser.add_argument(
            flag, nargs="+", default=list(spec.default), metavar=spec.name.upper(), help=text
        )
    else:
        shown = repr(spec.default) if spec.default == "" else spec.default
        parser.add_argument(
            flag,
            type=spec_type(spec),
            default=spec.default,
            metavar="|".join(spec.choices) if spec.choices else spec.name.upper(),
            help=f"{text} (default: {shown})",
        )


def add_stage_arguments(parser: argparse.ArgumentParser, stages: Iterable[StageSpec]) -> None:
    """One argument group per stage that runs offline, one option per parameter."""
    for stage in stages:
        if stage.offline:
            group = parser.add_argument_group(f"{stage.name} stage (node parameters)")
            for spec in stage.params:
                add_param_argument(group, spec)


def stage_param_values(args: argparse.Namespace, stages: Iterable[StageSpec]) -> dict[str, Any]:
    """The stages' parameters as ``args`` give them, by parameter name."""
    return {
        spec.name: getattr(args, spec.name)
        for stage in stages
        if stage.offline
        for spec in stage.params
    }
