"""Parameters of the segmentation node as a validated dataclass (no ROS imports).

The node declares one ROS parameter per field, with the description below, reads
them into ``SegmentationParams`` and calls ``validate()`` once at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from .classes import CAMVID, ClassSet
from .instances.stage import INSTANCE_MODES
from .models import MODEL_NAMES
from .motion import DIS_PRESETS, FLOW_METHODS

__all__ = ["SegmentationParams", "ParameterError", "PARAMETER_DOCS"]


class ParameterError(ValueError):
    """A parameter value is invalid; the message names the parameter."""


PARAMETER_DOCS: dict[str, str] = {
    "model": "Architecture (lraspp, fcn8s, unet, deeplabv3plus); must match the checkpoint",
    "checkpoint": "Checkpoint file; empty = the bundled CamVid checkpoint for 'lraspp'",
    "device": "Inference device: auto (CUDA if present), cpu, or cuda[:N]",
    "input_width": "Network input width in pixels (frames are resized to it)",
    "input_height": "Network input height in pixels",
    "input_transport": "raw: subscribe sensor_msgs/Image on 'image'; "
    "compressed: sensor_msgs/CompressedImage on 'image/compressed'",
    "qos_reliability": "Input QoS reliability: best_effort (sensor data; accepts either "
    "publisher) or reliable",
    "qos_depth": "Input and output queue depth",
    "class_names": "Class names in id order; must equal the checkpoint's",
    "palette": "Flat RGB palette [r0, g0, b0, r1, ...], 3 values per class",
    "confidence_stride": "Compute ~/confidence on every N-th logit per axis, then resize "
    "bilinearly (1 = every pixel, exact)",
    "overlay_alpha": "Weight of the class colour in ~/overlay (0 = image only, 1 = colours only)",
    "diagnostics_period": "Seconds between /diagnostics messages",
    "num_threads": "Torch CPU threads for inference (0 = torch default)",
    "warn_throttle_sec": "Minimum seconds between repeated warnings about rejected frames",
    "use_flow": "Run the motion stream: optical flow and a two-stream model, publishing "
    "~/motion and ~/flow (false: no flow is computed at all)",
    "motion_checkpoint": "Two-stream checkpoint for ~/motion; empty = the bundled DAVIS "
    "model (fold a)",
    "flow_method": "Optical flow: dis (fast) or farneback",
    "flow_preset": "DIS preset: ultrafast, fast or medium",
    "flow_max_gap": "Seconds between frame stamps beyond which the flow stream restarts "
    "(as it does when time goes backwards or the size changes)",
    "instance_mode": "Instance masks: off (no cost), fast (connected components of the "
    "thing classes in ~/labels) or maskrcnn (the Mask R-CNN checkpoint)",
    "thing_classes": "Names of the object classes the fast mode splits into instances",
    "instance_min_area": "Smallest fast-mode instance, in pixels of the input frame",
    "instance_checkpoint": "Mask R-CNN checkpoint; empty = the bundled CamVid model",
    "instance_score_threshold": "Mask R-CNN detections scoring below this are dropped",
}


@dataclass
class SegmentationParams:
    """Values of the node's parameters (defaults = ``config/segmentation.yaml``)."""

    model: str = "lraspp"
    checkpoint: str = ""
    device: str = "auto"
    input_width: int = 480
    input_height: int = 360
    input_transport: str = "raw"
    qos_reliability: str = "best_effort"
    qos_depth: int = 1
    class_names: list[str] = field(default_factory=lambda: list(CAMVID.names))
    palette: list[int] = field(default_factory=lambda: [v for c in CAMVID.colors for v in c])
    confidence_stride: int = 4
    overlay_alpha: float = 0.5
    diagnostics_period: float = 1.0
    num_threads: int = 0
    warn_throttle_sec: float = 5.0
    use_flow: bool = False
    motion_checkpoint: str = ""
    flow_method: str = "dis"
    flow_preset: str = "fast"
    flow_max_gap: float = 0.5
    instance_mode: str = "off"
    thing_classes: list[str] = field(default_factory=lambda: ["Car", "Pedestrian", "Bicyclist"])
    instance_min_area: int = 50
    instance_checkpoint: str = ""
    instance_score_threshold: float = 0.5

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def classes(self) -> ClassSet:
        try:
            return ClassSet.from_flat(self.class_names, self.palette)
        except ValueError as exc:
            raise ParameterError(f"class_names/palette: {exc}") from exc

    def validate(self) -> None:
        """Raise ``ParameterError`` naming the first invalid parameter."""
        if self.model not in MODEL_NAMES:
            raise ParameterError(
                f"model must be one of {', '.join(MODEL_NAMES)}, got {self.model!r}"
            )
        if not (self.device in ("auto", "cpu", "cuda") or self.device.startswith("cuda:")):
            raise ParameterError(f"device must be auto, cpu or cuda[:N], got {self.device!r}")
        for name in ("input_width", "input_height"):
            value = getattr(self, name)
            if not 32 <= value <= 4096:
                raise ParameterError(f"{name} must be in 32..4096, got {value}")
        if self.input_transport not in ("raw", "compressed"):
            raise ParameterError(
                f"input_transport must be raw or compressed, got {self.input_transport!r}"
            )
        if self.qos_reliability not in ("best_effort", "reliable"):
            raise ParameterError(
                f"qos_reliability must be best_effort or reliable, got {self.qos_reliability!r}"
            )
        if not 1 <= self.qos_depth <= 100:
            raise ParameterError(f"qos_depth must be in 1..100, got {self.qos_depth}")
        if not 1 <= self.confidence_stride <= 16:
            raise ParameterError(
                f"confidence_stride must be in 1..16, got {self.confidence_stride}"
            )
        if not 0.0 <= self.overlay_alpha <= 1.0:
            raise ParameterError(f"overlay_alpha must be in [0, 1], got {self.overlay_alpha}")
        if not 0.05 <= self.diagnostics_period <= 60.0:
            raise ParameterError(
                f"diagnostics_period must be in [0.05, 60], got {self.diagnostics_period}"
            )
        if not 0 <= self.num_threads <= 256:
            raise ParameterError(f"num_threads must be in 0..256, got {self.num_threads}")
        if self.warn_throttle_sec < 0:
            raise ParameterError(f"warn_throttle_sec must be >= 0, got {self.warn_throttle_sec}")
        if self.flow_method not in FLOW_METHODS:
            raise ParameterError(
                f"flow_method must be one of {', '.join(FLOW_METHODS)}, got {self.flow_method!r}"
            )
        if self.flow_preset not in DIS_PRESETS:
            raise ParameterError(
                f"flow_preset must be one of {', '.join(DIS_PRESETS)}, got {self.flow_preset!r}"
            )
        if not 0.0 < self.flow_max_gap <= 60.0:
            raise ParameterError(f"flow_max_gap must be in (0, 60], got {self.flow_max_gap}")
        if self.instance_mode not in INSTANCE_MODES:
            raise ParameterError(
                f"instance_mode must be one of {', '.join(INSTANCE_MODES)}, "
                f"got {self.instance_mode!r}"
            )
        if not 1 <= self.instance_min_area <= 1_000_000:
            raise ParameterError(
                f"instance_min_area must be in 1..1000000, got {self.instance_min_area}"
            )
        if not 0.0 <= self.instance_score_threshold <= 1.0:
            raise ParameterError(
                f"instance_score_threshold must be in [0, 1], got {self.instance_score_threshold}"
            )
        classes = self.classes()
        if self.instance_mode == "fast":
            try:
                classes.ids_of(self.thing_classes)
            except ValueError as exc:
                raise ParameterError(f"thing_classes {exc}") from None
