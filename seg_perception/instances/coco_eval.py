"""COCO-style mask AP of instance predictions against derived ground truth (pycocotools).

AP is averaged over IoU 0.50:0.95 (AP50 at IoU 0.5), 100 detections per image, all
object sizes; per class and the mean over classes.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence

import numpy as np
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from .components import Instance

__all__ = ["mask_ap"]


def _rle(mask: np.ndarray) -> dict:
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    rle["counts"] = rle["counts"].decode("ascii")
    return rle


def mask_ap(
    ground_truth: Sequence[Sequence[Instance]],
    predictions: Sequence[Sequence[Instance]],
    shape: tuple[int, int],
    class_ids: Sequence[int],
    class_names: Sequence[str],
) -> dict[str, dict[str, float]]:
    """``{class_name | "mean": {"AP": %, "AP50": %, "gt": count}}`` over all frames.

    A class without ground truth gets NaN AP (left out of the mean).
    """
    if len(ground_truth) != len(predictions):
        raise ValueError("one prediction list per ground-truth frame is needed")
    height, width = shape
    images = [{"id": i, "height": height, "width": width} for i in range(len(ground_truth))]
    annotations, detections = [], []
    for image_id, (truth, predicted) in enumerate(zip(ground_truth, predictions, strict=True)):
        for inst in truth:
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": inst.class_id,
                    "segmentation": _rle(inst.mask),
                    "area": float(inst.area),
                    "bbox": list(inst.bbox),
                    "iscrowd": 0,
                }
            )
        for inst in predicted:
            if inst.class_id in class_ids:
                detections.append(
                    {
                        "image_id": image_id,
                        "category_id": inst.class_id,
                        "segmentation": _rle(inst.mask),
                        "score": float(inst.score),
                    }
                )
    coco = COCO()
    coco.dataset = {
        "images": images,
        "annotations": annotations,
        "categories": [{"id": c, "name": n} for c, n in zip(class_ids, class_names, strict=True)],
    }
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints as it goes
        coco.createIndex()
        results = coco.loadRes(detections) if detections else None
        if results is not None:
            evaluator = COCOeval(coco, results, iouType="segm")
            evaluator.params.catIds = list(class_ids)
            evaluator.evaluate()
            evaluator.accumulate()
    report: dict[str, dict[str, float]] = {}
    for k, (class_id, name) in enumerate(zip(class_ids, class_names, strict=True)):
        count = sum(a["category_id"] == class_id for a in annotations)
        if count == 0:
            ap = ap50 = float("nan")
        elif results is None:
            ap = ap50 = 0.0
        else:
            precision = evaluator.eval["precision"][:, :, k, 0, -1]  # (IoU, recall)
            ap = float(np.mean(np.maximum(precision, 0)))
            ap50 = float(np.mean(np.maximum(precision[0], 0)))
        report[name] = {"AP": 100 * ap, "AP50": 100 * ap50, "gt": count}
    valid = [v for v in report.values() if not np.isnan(v["AP"])]
    report["mean"] = {
        "AP": float(np.mean([v["AP"] for v in valid])) if valid else float("nan"),
        "AP50": float(np.mean([v["AP50"] for v in valid])) if valid else float("nan"),
        "gt": sum(v["gt"] for v in valid),
    }
    return report
