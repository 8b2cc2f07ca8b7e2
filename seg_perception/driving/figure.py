"""A picture of the policy driving: camera, ground-truth labels and the policy's own
segmentation (its auxiliary head) at a few moments of one episode."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from ..io_utils import atomic_write
from .commands import twist_values_to_action
from .policy_runner import PolicyRunner
from .sim import FRAME_PERIOD_S, CarRacingSim
from .sim_labels import DRIVING_CLASSES

__all__ = ["save_driving_figure"]


def save_driving_figure(
    path: str | os.PathLike,
    runner: PolicyRunner,
    seed: int,
    steps: Sequence[int] = (100, 250, 400),
) -> None:
    """PNG: one row per step of episode ``seed``: camera | truth | policy segmentation."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sim = CarRacingSim()
    rows = []
    try:
        frame = sim.reset(seed)
        runner.reset()
        while not sim.done and len(rows) < len(steps):
            command = runner(frame, sim.steps * FRAME_PERIOD_S, with_segmentation=True)
            if sim.steps in steps:
                rows.append((frame, sim.labels(), command.segmentation, sim.steps))
            frame = sim.step(twist_values_to_action(command.linear_x, command.angular_z)).frame
    finally:
        sim.close()
    fig, axes = plt.subplots(len(rows), 3, figsize=(7.5, 2.6 * len(rows)), squeeze=False)
    for row, (rgb, truth, predicted, step) in enumerate(rows):
        pictures = (rgb, DRIVING_CLASSES.colorize(truth), DRIVING_CLASSES.colorize(predicted))
        titles = (f"camera, step {step}", "ground truth", "policy's segmentation head")
        for col, (picture, title) in enumerate(zip(pictures, titles, strict=True)):
            axes[row, col].imshow(picture, interpolation="nearest")
            axes[row, col].set_title(title, fontsize=9)
            axes[row, col].axis("off")
    handles = [
        plt.Rectangle((0, 0), 1, 1, color=np.array(c) / 255) for c in DRIVING_CLASSES.colors
    ]
    fig.legend(handles, DRIVING_CLASSES.names, loc="lower center", ncol=5, fontsize=8)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    with atomic_write(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=90)
    plt.close(fig)
