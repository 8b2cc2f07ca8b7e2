"""Evaluate a checkpoint on a dataset split (CamVid or a spec's) with the node's own
pipeline (no ROS imports)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..classes import ClassSet
from ..data.camvid import read_rgb
from ..data.labelled_data import LabelledData
from ..inference.segmentation_pipeline import SegmentationPipeline
from ..io_utils import file_sha256
from ..latency_stats import LatencyStats
from ..stages.base import Frame, Stage
from .metrics import ConfusionMatrix

__all__ = ["evaluate_split", "file_sha256"]


def evaluate_split(
    pipeline: SegmentationPipeline,
    data: LabelledData,
    split: str = "test",
    limit: int | None = None,
    refiner: Stage | None = None,
) -> tuple[ConfusionMatrix, LatencyStats, int]:
    """Segment every frame of ``split`` at full resolution, refined by ``refiner`` (a
    stage such as the CRF, timed under its name) if given; return confusion, stage
    latencies and the number of frames."""
    files = data.files(split)[:limit]
    stems = [stem for stem, _, _ in files]
    label_paths = {stem: label for stem, _, label in files}
    confusion = ConfusionMatrix(data.classes.num_classes)
    latency = LatencyStats(window=max(1, len(stems)))
    image_paths = [image for _, image, _ in files]
    if image_paths:
        pipeline(read_rgb(image_paths[0]))  # warm-up, untimed: first-call allocations
    for stem, image_path in tqdm(
        zip(stems, image_paths, strict=True), total=len(stems), desc=f"eval {split}"
    ):
        label = data.read_label(label_paths[stem])
        rgb = read_rgb(image_path)
        if rgb.shape[:2] != label.shape:
            raise ValueError(f"{label_paths[stem]}: mask size differs from its frame {image_path}")
        result = pipeline(rgb)
        labels = result.labels
        if refiner is not None:
            started = time.perf_counter()
            frame = Frame(rgb, data={"labels": labels, "probabilities": result.probabilities})
            labels = refiner(frame)["labels"]
            result.timings_ms[refiner.name] = 1e3 * (time.perf_counter() - started)
        confusion.update(label, labels)
        latency.record(result.timings_ms)
    return confusion, latency, len(stems)


def confusion_figure(
    confusion: ConfusionMatrix, path: Path, title: str, classes: ClassSet
) -> None:
    """Row-normalised confusion matrix as a PNG (written atomically)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..io_utils import atomic_write

    rows = confusion.matrix.sum(axis=1, keepdims=True)
    normalised = np.divide(
        confusion.matrix, rows, out=np.zeros(confusion.matrix.shape), where=rows > 0
    )
    fig, ax = plt.subplots(figsize=(7.5, 6.5))
    image = ax.imshow(normalised, cmap="Blues", vmin=0.0, vmax=1.0)
    names = classes.names[: confusion.num_classes]
    ax.set_xticks(range(len(names)), names, rotation=60, ha="right")
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("ground truth")
    ax.set_title(title)
    for i in range(len(names)):
        for j in range(len(names)):
            if normalised[i, j] >= 0.01:
                color = "white" if normalised[i, j] > 0.5 else "black"
                ax.text(
                    j,
                    i,
                    f"{100 * normalised[i, j]:.0f}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color=color,
                )
    fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    with atomic_write(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
