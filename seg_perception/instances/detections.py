"""The per-frame detections document published on ``~/instances/detections`` (JSON).

Schema (one object per frame)::

    {"stamp": {"sec": int, "nanosec": int}, "frame_id": str, "mode": "fast"|"maskrcnn",
     "width": int, "height": int,
     "instances": [{"id": int, "class_id": int, "class_name": str, "score": float,
                    "bbox": [x, y, w, h], "area": int}, ...]}

``id`` is the instance's value in ``~/instances/ids`` (class_id * 1000 + n).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from .components import Instance

__all__ = ["detections_document", "detections_json"]


def detections_document(
    stamp: tuple[int, int],
    frame_id: str,
    mode: str,
    shape: tuple[int, int],
    instances: Sequence[Instance],
    ids: Sequence[int],
    class_names: Sequence[str],
) -> dict:
    """The document of one frame (instances without an id are left out)."""
    return {
        "stamp": {"sec": int(stamp[0]), "nanosec": int(stamp[1])},
        "frame_id": frame_id,
        "mode": mode,
        "width": int(shape[1]),
        "height": int(shape[0]),
        "instances": [
            {
                "id": int(instance_id),
                "class_id": int(inst.class_id),
                "class_name": class_names[inst.class_id],
                "score": round(float(inst.score), 4),
                "bbox": [int(v) for v in inst.bbox],
                "area": inst.area,
            }
            for inst, instance_id in zip(instances, ids, strict=True)
            if instance_id
        ],
    }


def detections_json(*args, **kwargs) -> str:
    """``detections_document`` as compact JSON text."""
    return json.dumps(detections_document(*args, **kwargs), separators=(",", ":"))
