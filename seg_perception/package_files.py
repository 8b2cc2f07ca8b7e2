"""Locate the package's config files in a source checkout or a colcon install."""

from __future__ import annotations

from pathlib import Path

__all__ = ["config_file"]


def config_file(relative: str) -> Path:
    """Path of ``config/<relative>``: the checkout's, else the ament share directory's."""
    checkout = Path(__file__).resolve().parents[1] / "config" / relative
    if checkout.is_file():
        return checkout
    try:
        from ament_index_python.packages import get_package_share_directory

        installed = Path(get_package_share_directory("seg_perception")) / "config" / relative
    except (ImportError, LookupError):
        installed = None
    if installed is not None and installed.is_file():
        return installed
    raise FileNotFoundError(f"config/{relative} not found in the checkout or the ament index")
