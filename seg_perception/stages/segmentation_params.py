"""Parameters of the segmentation node as a validated dataclass (no ROS imports).

The node's own parameters are listed here; each optional stage declares its own next to
its code (``stages/``). ``SegmentationParams`` has one field per parameter of both; the
node declares one ROS parameter per field, with the spec's description and range, and
calls ``validate()`` once at start-up.
"""

from __future__ import annotations

import dataclasses
from dataclasses import field, make_dataclass
from typing import Any

from ..classes import CAMVID, ClassSet
from ..inference.backends import BACKENDS, PRECISIONS
from ..models import MODEL_NAMES
from ..parameters import ParameterError, ParamSpec
from .registry import OPTIONAL_STAGES

__all__ = ["SegmentationParams", "ParameterError", "PARAMETER_DOCS", "PARAM_SPECS"]


def _device_problem(value: str) -> str | None:
    if value in ("auto", "cpu", "cuda") or value.startswith("cuda:"):
        return None
    return "must be auto, cpu or cuda[:N]"


NODE_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec(
        "model",
        "lraspp",
        "Architecture (lraspp, fcn8s, unet, deeplabv3plus); must match the checkpoint",
        choices=MODEL_NAMES,
    ),
    ParamSpec(
        "checkpoint", "", "Checkpoint file; empty = the bundled CamVid checkpoint for 'lraspp'"
    ),
    ParamSpec(
        "device",
        "auto",
        "Inference device: auto (CUDA if present), cpu, or cuda[:N]",
        check=_device_problem,
    ),
    ParamSpec(
        "inference_backend",
        "auto",
        "Network runtime: auto (OpenVINO on x86 CPUs, else ONNX Runtime, else torch), torch, "
        "onnxruntime or openvino",
        choices=BACKENDS,
    ),
    ParamSpec(
        "inference_precision",
        "fp32",
        "fp32, or int8 (the quantized model of int8_model; onnxruntime or openvino)",
        choices=PRECISIONS,
    ),
    ParamSpec(
        "int8_model",
        "",
        "INT8 ONNX model from 'seg-perception quantize'; empty = the bundled one (made from "
        "the bundled checkpoint at 480x360)",
    ),
    ParamSpec(
        "input_width",
        480,
        "Network input width in pixels (frames are resized to it)",
        bounds=(32, 4096),
    ),
    ParamSpec("input_height", 360, "Network input height in pixels", bounds=(32, 4096)),
    ParamSpec(
        "max_input_pixels",
        4096 * 4096,
        "Frames with more pixels are rejected before decoding (raw: width*height; "
        "JPEG/PNG: the size in the header)",
        bounds=(1, 2**31 - 1),
    ),
    ParamSpec(
        "input_transport",
        "raw",
        "raw: subscribe sensor_msgs/Image on 'image'; "
        "compressed: sensor_msgs/CompressedImage on 'image/compressed'",
        choices=("raw", "compressed"),
    ),
    ParamSpec(
        "qos_reliability",
        "best_effort",
        "Input QoS reliability: best_effort (sensor data; accepts either publisher) or reliable",
        choices=("best_effort", "reliable"),
    ),
    ParamSpec("qos_depth", 1, "Input and output queue depth", bounds=(1, 100)),
    ParamSpec(
        "class_names",
        list(CAMVID.names),
        "Class names in id order; must equal the checkpoint's; empty, or left at the "
        "default with the default palette = the checkpoint's classes and palette; not used "
        "in few-shot mode (fewshot_support_dir)",
    ),
    ParamSpec(
        "palette",
        [v for c in CAMVID.colors for v in c],
        "Flat RGB palette [r0, g0, b0, r1, ...], 3 values per class",
    ),
    ParamSpec(
        "confidence_stride",
        4,
        "Compute ~/confidence on every N-th logit per axis, then resize bilinearly "
        "(1 = every pixel, exact)",
        bounds=(1, 16),
    ),
    ParamSpec(
        "overlay_alpha",
        0.5,
        "Weight of the class colour in ~/overlay (0 = image only, 1 = colours only)",
        bounds=(0.0, 1.0),
        runtime=True,
    ),
    ParamSpec(
        "diagnostics_period", 1.0, "Seconds between /diagnostics messages", bounds=(0.05, 60.0)
    ),
    ParamSpec(
        "num_threads", 0, "Torch CPU threads for inference (0 = torch default)", bounds=(0, 256)
    ),
    ParamSpec(
        "stale_after_sec",
        3.0,
        "Seconds without a frame after which the node warns (log and diagnostics) that "
        "its input is silent, naming the topic, type, QoS and the image topics it sees",
        bounds=(0.1, 3600.0),
    ),
    ParamSpec(
        "warn_throttle_sec",
        5.0,
        "Minimum seconds between repeated warnings about rejected frames",
        bounds=(0.0, 3600.0),
    ),
    ParamSpec(
        "fewshot_support_dir",
        "",
        "Few-shot classes: a folder of <class name>/ folders of support frames (<stem>.png "
        "or .jpg + <stem>_mask.png); the ~/fewshot/sync service teaches new folders and "
        "forgets removed ones (needs a cosine-classifier checkpoint; the classes are the "
        "checkpoint's, class_names and palette are not used); empty = off",
    ),
    ParamSpec(
        "fewshot_state_file",
        "",
        "Where the taught model is written (atomically) and reloaded at start; empty = "
        "taught_model.pt in fewshot_support_dir",
    ),
    ParamSpec(
        "fewshot_alpha",
        0.0,
        "Adaptation of the base classes seen in the support frames (0 = none; 0 with "
        "200 refine steps was chosen on CamVid val)",
        bounds=(0.0, 1.0),
    ),
    ParamSpec(
        "fewshot_refine_steps",
        200,
        "Gradient steps that train a new class's row on its support frames after "
        "imprinting, every other row fixed (0 = none; 200 was chosen on CamVid val)",
        bounds=(0, 5000),
    ),
)

PARAM_SPECS: tuple[ParamSpec, ...] = NODE_PARAMS + tuple(
    spec for stage in OPTIONAL_STAGES for spec in stage.params
)
PARAMETER_DOCS: dict[str, str] = {spec.name: spec.description for spec in PARAM_SPECS}
_SPECS_BY_NAME = {spec.name: spec for spec in PARAM_SPECS}


def _names(cls) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def _classes(self) -> ClassSet | None:
    """The configured classes; None for an empty ``class_names`` (the checkpoint's)."""
    if not self.class_names:
        return None
    try:
        return ClassSet.from_flat(self.class_names, self.palette)
    except ValueError as exc:
        raise ParameterError(f"class_names/palette: {exc}") from exc


def _validate(self) -> None:
    """Raise ``ParameterError`` naming the first invalid parameter."""
    for name in _names(type(self)):
        _SPECS_BY_NAME[name].validate(getattr(self, name))
    classes = None if self.fewshot_support_dir else self.classes()
    if self.fewshot_support_dir and self.inference_precision == "int8":
        raise ParameterError(
            "fewshot_support_dir needs inference_precision fp32 (taught classes change the "
            "network, an INT8 model cannot follow)"
        )
    for stage in OPTIONAL_STAGES:
        if stage.validate is not None:
            stage.validate(self, classes)


def _field(spec: ParamSpec) -> tuple[str, type, Any]:
    default = spec.default
    if isinstance(default, list):
        return spec.name, list, field(default_factory=lambda: list(default))
    return spec.name, type(default), field(default=default)


SegmentationParams = make_dataclass(
    "SegmentationParams",
    [_field(spec) for spec in PARAM_SPECS],
    namespace={
        "__doc__": "Values of the node's parameters (defaults = ``config/segmentation.yaml``).",
        "names": classmethod(_names),
        "classes": _classes,
        "validate": _validate,
        "spec": staticmethod(lambda name: _SPECS_BY_NAME[name]),
    },
)
SegmentationParams.__module__ = __name__
