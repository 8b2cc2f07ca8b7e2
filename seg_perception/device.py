"""Device selection shared by training, evaluation and the node (no ROS imports)."""

from __future__ import annotations

import torch

__all__ = ["select_device"]


def select_device(requested: str | torch.device = "auto") -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cuda`` without a GPU is an error; a
    ``torch.device`` (already chosen) is returned as it is."""
    if isinstance(requested, torch.device):
        return requested
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(requested)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' requested but no CUDA GPU is available")
    return device
