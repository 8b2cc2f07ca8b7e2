"""``--refine`` and the ``--crf-*`` options, shared by ``eval`` and ``crf-tune``; each
option is the node parameter of the same name, with its range."""

from __future__ import annotations

import argparse

from ..stages.crf import CRF_STAGE
from .stage_args import add_param_argument

__all__ = ["add_refine_arguments", "add_crf_arguments"]


def add_crf_arguments(parser: argparse.ArgumentParser) -> None:
    """``--crf-iterations`` ... ``--crf-appearance-srgb`` (defaults: the node's)."""
    for spec in CRF_STAGE.params:
        if spec.name.startswith("crf_"):
            add_param_argument(parser, spec)


def add_refine_arguments(parser: argparse.ArgumentParser) -> None:
    """``--refine none|crf`` and the CRF's options."""
    for spec in CRF_STAGE.params:
        add_param_argument(parser, spec)
