"""Instance masks: connected components of "thing" classes (fast) and Mask R-CNN."""

from .components import Instance, instances_from_labels, mask_bbox
from .encoding import (
    MAX_INSTANCES_PER_CLASS,
    assign_instance_ids,
    decode_instance_ids,
    encode_instance_ids,
)

__all__ = [
    "Instance",
    "instances_from_labels",
    "mask_bbox",
    "assign_instance_ids",
    "encode_instance_ids",
    "decode_instance_ids",
    "MAX_INSTANCES_PER_CLASS",
]
