"""Grid search of the dense CRF's appearance kernel on a CamVid split (no ROS).

The network runs once per frame; every grid point refines the same probabilities, so
the grid costs one CRF per point and frame. The smoothness kernel and the iteration
count stay fixed (DeepLab fixes its Gaussian kernel too and searches the bilateral one).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from tqdm import tqdm

from ..data.camvid import read_rgb
from ..data.labelled_data import LabelledData
from ..inference.segmentation_pipeline import SegmentationPipeline
from ..refine.dense_crf import CRFParams, DenseCRF
from ..stages.base import Frame
from ..stages.crf import CRFStage
from .metrics import ConfusionMatrix

__all__ = ["CRFGrid", "GridResult", "tune_crf", "crf_grid_points"]


@dataclass(frozen=True)
class CRFGrid:
    """Values tried for the bilateral kernel; the rest of ``base`` is kept."""

    base: CRFParams
    appearance_weights: Sequence[float]
    appearance_sxys: Sequence[float]
    appearance_srgbs: Sequence[float]


@dataclass
class GridResult:
    """Confusion of the unrefined labels and of each grid point, plus a few example
    frames (image, truth, unrefined, refined by each point) for a figure."""

    baseline: ConfusionMatrix
    points: list[CRFParams]
    confusions: list[ConfusionMatrix]
    frames: int
    examples: list[dict[str, np.ndarray]]

    def best(self) -> int:
        """Index of the grid point with the highest mean IoU (first one on a tie)."""
        return int(np.argmax([c.mean_iou() for c in self.confusions]))


def crf_grid_points(grid: CRFGrid) -> list[CRFParams]:
    """Every combination, weight-major."""
    return [
        replace(grid.base, appearance_weight=w, appearance_sxy=sxy, appearance_srgb=srgb)
        for w, sxy, srgb in itertools.product(
            grid.appearance_weights, grid.appearance_sxys, grid.appearance_srgbs
        )
    ]


def tune_crf(
    pipeline: SegmentationPipeline,
    data: LabelledData,
    grid: CRFGrid,
    split: str = "val",
    limit: int | None = None,
    example_frames: int = 3,
) -> GridResult:
    """Score every grid point of ``grid`` on ``split`` (``pipeline`` must keep its
    probabilities). Example frames are spread evenly over the split."""
    if not pipeline.keeps_probabilities:
        raise ValueError("the pipeline must keep its probabilities (probabilities=True)")
    files = data.files(split)[:limit]
    points = crf_grid_points(grid)
    stages = [CRFStage(DenseCRF(point)) for point in points]
    baseline = ConfusionMatrix(data.classes.num_classes)
    confusions = [ConfusionMatrix(data.classes.num_classes) for _ in points]
    shown = set(np.linspace(0, len(files) - 1, example_frames).round().astype(int).tolist())
    examples: list[dict[str, np.ndarray]] = []
    progress = tqdm(total=len(files) * len(points), desc=f"crf grid on {split}", unit="crf")
    for index, (_, image_path, label_path) in enumerate(files):
        rgb, truth = read_rgb(image_path), data.read_label(label_path)
        result = pipeline(rgb)
        baseline.update(truth, result.labels)
        refined = []
        for stage, confusion in zip(stages, confusions, strict=True):
            frame = Frame(rgb, data={"probabilities": result.probabilities})
            labels = stage(frame)["labels"]
            confusion.update(truth, labels)
            refined.append(labels)
            progress.update()
        if index in shown:
            examples.append(
                {"rgb": rgb, "truth": truth, "unrefined": result.labels, "refined": refined}
            )
    progress.close()
    return GridResult(baseline, points, confusions, len(files), examples)
