"""Plot a training log (loss and validation mIoU per epoch) as a PNG (no ROS imports)."""

from __future__ import annotations

import csv
import os
from pathlib import Path

from ..io_utils import atomic_write

__all__ = ["plot_training_log"]


def plot_training_log(log_csv: str | os.PathLike, out_png: str | os.PathLike, title: str) -> None:
    """Read the trainer's ``log.csv`` and write loss and val mIoU curves to ``out_png``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    try:
        with open(log_csv, newline="") as handle:
            reader = csv.DictReader(handle)
            rows = list(reader)
            columns = set(reader.fieldnames or ())
    except UnicodeDecodeError:
        raise ValueError(f"{log_csv} is not a training log (not text)") from None
    if not {"epoch", "loss"} <= columns:
        raise ValueError(f"{log_csv} is not a training log (no epoch and loss columns)")
    if not rows:
        raise ValueError(f"{log_csv} holds no epochs")
    try:
        epochs = [int(r["epoch"]) for r in rows]
        losses = [float(r["loss"]) for r in rows]
        validated = [
            (int(r["epoch"]), 100 * float(r["val_miou"])) for r in rows if r.get("val_miou")
        ]
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{log_csv} has a row that is not numbers: {exc}") from None
    fig, loss_axis = plt.subplots(figsize=(7, 4))
    loss_axis.plot(epochs, losses, color="tab:blue", label="training loss")
    loss_axis.set_xlabel("epoch")
    loss_axis.set_ylabel("training loss", color="tab:blue")
    miou_axis = loss_axis.twinx()
    if validated:
        miou_axis.plot(*zip(*validated, strict=True), "o-", color="tab:red", label="val mIoU")
    miou_axis.set_ylabel("validation mean IoU (%)", color="tab:red")
    loss_axis.set_title(title)
    loss_axis.grid(alpha=0.3)
    fig.tight_layout()
    with atomic_write(Path(out_png)) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
