"""``--refine`` and the ``--crf-*`` options, shared by ``eval``, ``bag-eval`` and
``crf-tune``; each option is the node parameter of the same name, with its range."""

from __future__ import annotations

import argparse

from ..stages.crf import CRF_STAGE, REFINE_MODES
from .arg_types import spec_type

__all__ = ["add_refine_arguments", "add_crf_arguments"]


def add_crf_arguments(parser: argparse.ArgumentParser) -> None:
    """``--crf-iterations`` ... ``--crf-appearance-srgb`` (defaults: the node's)."""
    for spec in CRF_STAGE.params:
        if spec.name.startswith("crf_"):
            parser.add_argument(
                "--" + spec.name.replace("_", "-"),
                type=spec_type(spec),
                default=spec.default,
                help=f"{spec.description} (default {spec.default})",
            )


def add_refine_arguments(parser: argparse.ArgumentParser) -> None:
    """``--refine none|crf`` and the CRF's options."""
    parser.add_argument(
        "--refine",
        choices=REFINE_MODES,
        default="none",
        help="label refinement: none or crf (a dense CRF; needs pydensecrf2)",
    )
    add_crf_arguments(parser)
