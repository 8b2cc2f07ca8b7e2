"""Checks shared by the dataset spec's parsers; each failure is ``fail(key, reason)``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["Fail", "no_unknown_keys", "as_mapping"]

Fail = Callable[[str, str], Exception]  # (key, reason) -> the error to raise


def no_unknown_keys(mapping: Mapping, known: tuple[str, ...], where: str, fail: Fail) -> None:
    """Fail on the first key of ``mapping`` not in ``known`` (``where`` prefixes it)."""
    unknown = [str(key) for key in mapping if key not in known]
    if unknown:
        raise fail(f"{where}{unknown[0]}", f"unknown key (known: {', '.join(known)})")


def as_mapping(value: Any, key: str, fail: Fail) -> dict:
    """``value`` when it is a mapping."""
    if not isinstance(value, dict):
        raise fail(key, f"must be a mapping, got {type(value).__name__}")
    return value
