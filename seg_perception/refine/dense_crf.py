"""Fully connected CRF over class probabilities and the RGB frame (no ROS).

Krähenbühl & Koltun (2011), as DeepLab uses it after the network: the unary is
``-log p`` of the softmax; two Potts pairwise kernels, a Gaussian smoothness kernel
over pixel positions and a bilateral appearance kernel over positions and colours, are
minimised by mean-field inference. The permutohedral-lattice filtering is
``pydensecrf2``'s (``pip install pydensecrf2``), a compiled extension imported only
when a CRF is built.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np

__all__ = [
    "CRFParams",
    "crf_params_from",
    "CRFUnavailable",
    "DenseCRF",
    "require_dense_crf",
    "PYDENSECRF_PIP",
]

PYDENSECRF_PIP = "pip install pydensecrf2==1.1"
_PROBABILITY_FLOOR = 1e-6  # -log(p) stays finite where the network is sure


class CRFUnavailable(ValueError):
    """``pydensecrf2`` is not installed (or does not load); the message says what to do."""


@dataclass(frozen=True)
class CRFParams:
    """Kernel weights and widths (in pixels of the probabilities, colour levels 0..255).

    Attributes:
        iterations: mean-field steps.
        smoothness_weight: Potts weight of the Gaussian (position-only) kernel.
        smoothness_sxy: its width in pixels.
        appearance_weight: Potts weight of the bilateral kernel.
        appearance_sxy: its width in pixels.
        appearance_srgb: its width in colour levels.
    """

    iterations: int = 5
    smoothness_weight: float = 3.0
    smoothness_sxy: float = 3.0
    appearance_weight: float = 5.0
    appearance_sxy: float = 50.0
    appearance_srgb: float = 3.0

    def __post_init__(self) -> None:
        checks = {
            "iterations": self.iterations >= 1,
            "smoothness_weight": self.smoothness_weight >= 0,
            "appearance_weight": self.appearance_weight >= 0,
            "smoothness_sxy": self.smoothness_sxy > 0,
            "appearance_sxy": self.appearance_sxy > 0,
            "appearance_srgb": self.appearance_srgb > 0,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise ValueError(f"invalid CRF kernel value(s): {', '.join(bad)}")

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def crf_params_from(values: dict[str, float]) -> CRFParams:
    """``CRFParams`` from a mapping (a YAML block); unknown keys are an error."""
    unknown = set(values) - {f.name for f in fields(CRFParams)}
    if unknown:
        raise ValueError(f"unknown CRF kernel key(s): {', '.join(sorted(unknown))}")
    return CRFParams(**values)


def require_dense_crf():
    """The ``pydensecrf.densecrf`` module, or ``CRFUnavailable`` in one line."""
    try:
        import pydensecrf.densecrf as densecrf
    except ImportError as exc:
        raise CRFUnavailable(
            f"refine crf needs the pydensecrf2 package ({PYDENSECRF_PIP}): {exc}"
        ) from None
    return densecrf


class DenseCRF:
    """Mean-field inference of a dense CRF with fixed ``CRFParams``.

    Raises:
        CRFUnavailable: at construction, when ``pydensecrf2`` cannot be imported.
    """

    def __init__(self, params: CRFParams):
        self.params = params
        self._densecrf = require_dense_crf()

    def __call__(self, probabilities: np.ndarray, rgb: np.ndarray) -> np.ndarray:
        """Refined marginals (K, H, W) float32 from softmax ``probabilities`` (K, H, W)
        and the (H, W, 3) uint8 ``rgb`` frame they were computed on."""
        classes, height, width = probabilities.shape
        if rgb.shape != (height, width, 3) or rgb.dtype != np.uint8:
            raise ValueError(
                f"CRF image must be ({height}, {width}, 3) uint8, got {rgb.shape} {rgb.dtype}"
            )
        if not (rgb.flags.writeable and rgb.flags.c_contiguous):
            rgb = rgb.copy()  # the extension takes a writable buffer (e.g. not a message view)
        p = self.params
        unary = -np.log(np.clip(probabilities, _PROBABILITY_FLOOR, 1.0), dtype=np.float32)
        crf = self._densecrf.DenseCRF2D(width, height, classes)
        crf.setUnaryEnergy(np.ascontiguousarray(unary.reshape(classes, -1)))
        if p.smoothness_weight > 0:
            crf.addPairwiseGaussian(sxy=p.smoothness_sxy, compat=p.smoothness_weight)
        if p.appearance_weight > 0:
            crf.addPairwiseBilateral(
                sxy=p.appearance_sxy,
                srgb=p.appearance_srgb,
                rgbim=rgb,
                compat=p.appearance_weight,
            )
        marginals = np.asarray(crf.inference(p.iterations), dtype=np.float32)
        return marginals.reshape(classes, height, width)

    def object_probability(self, probability: np.ndarray, rgb: np.ndarray) -> np.ndarray:
        """Refined (H, W) object marginal from one object ``probability`` (H, W): the
        two-class CRF over (background, object)."""
        return self(np.stack([1.0 - probability, probability]), rgb)[1]
