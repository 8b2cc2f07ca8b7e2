"""The flags the training verbs share (train, train-motion, train-vos-parent,
train-instances, train-policy), from one table, and the end of their ``run``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .arg_types import positive_int

__all__ = ["TRAINING_FLAGS", "add_training_flags", "config_overrides", "report_checkpoint"]

# flag -> add_argument options; a verb adds them in its own order, overriding options
TRAINING_FLAGS: dict[str, dict[str, Any]] = {
    "--config": {"required": True},
    "--resume": {"action": "store_true", "help": "continue from OUT/last.pt"},
    "--out-dir": {"help": "override the config's out_dir"},
    "--epochs": {"type": positive_int, "help": "override the config's epochs"},
    "--seed": {"type": int, "help": "override the config's seed"},
    "--device": {"default": "auto", "help": "auto, cpu or cuda[:N]"},
}

Flag = str | tuple[str, dict[str, Any]]


def add_training_flags(parser: argparse.ArgumentParser, *flags: Flag) -> None:
    """Add ``flags`` in order: a name from ``TRAINING_FLAGS``, or (name, options) where
    the options add to (or replace) the table's."""
    for flag in flags:
        name, options = (flag, {}) if isinstance(flag, str) else flag
        parser.add_argument(name, **{**TRAINING_FLAGS.get(name, {}), **options})


def config_overrides(args: argparse.Namespace, *keys: str) -> dict[str, Any]:
    """The config keys the flags of the same name override (None: the config's value)."""
    return {key: getattr(args, key) for key in keys}


def report_checkpoint(path: Path, kind: str = "final") -> int:
    """Print the checkpoint a run ended with; the verb's exit code."""
    print(f"{kind} checkpoint: {path}")
    return 0
