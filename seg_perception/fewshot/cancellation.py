"""Stopping a running teach early: the exception and the default "never" check."""

from __future__ import annotations

__all__ = ["TeachingCancelled", "never_cancelled"]


class TeachingCancelled(Exception):
    """Teaching stopped early on request (a node shutting down)."""


def never_cancelled() -> bool:
    """The default cancellation check: teaching always runs to the end."""
    return False
