"""``--data SPEC`` and ``--data-root``: the dataset a CLI reads (CamVid by default)."""

from __future__ import annotations

import argparse

__all__ = ["add_dataset_arguments", "labelled_data_of"]


def add_dataset_arguments(parser: argparse.ArgumentParser, spec: bool = True) -> None:
    """``--data-root`` and, with ``spec``, ``--data``."""
    if spec:
        parser.add_argument(
            "--data", help="dataset spec YAML (config/datasets/*.yaml); default: CamVid"
        )
    parser.add_argument(
        "--data-root",
        help="folder holding camvid/, or the ${SEG_PERCEPTION_DATA} of a spec's root "
        "(else $SEG_PERCEPTION_DATA)",
    )


def labelled_data_of(args: argparse.Namespace):
    """The ``LabelledData`` the arguments name."""
    from ..data import open_labelled_data

    return open_labelled_data(args.data_root, getattr(args, "data", None))
