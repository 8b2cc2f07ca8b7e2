"""Two-stream (appearance + motion) segmentation, as in FusionSeg / MODNet.

An appearance encoder reads the RGB frame and a lighter motion encoder reads optical
flow (``(dx / W, dy / H)``, see ``seg_perception.motion``). They are fused **mid-level**,
at stride 16: the two deepest feature maps are concatenated and a shared LR-ASPP
decoder reads them with the appearance stride-8 features as its skip. Why there:

- early fusion (flow as extra input channels) would make the appearance encoder relearn
  its first layers for a signal with other statistics, and its CamVid features would
  no longer carry over;
- late fusion (two full decoders, averaged masks) doubles the decoder and can only
  vote, not combine "moves" with "looks like an object";
- at stride 16 flow is already smooth, so its coarse motion blobs are where it is
  reliable, and the stride-8 appearance skip restores the object's edges.

Heads: ``out`` (semantic classes) reads the appearance stream only, so flow never
changes the label image and the CamVid-trained model carries over; ``foreground``
(one logit per pixel: moving object) reads the fused features. With ``use_flow=False``
the motion encoder is not built and nothing about flow is computed.
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models.segmentation.lraspp import LRASPPHead

from .common import resize_to, upsample_logits
from .encoders import PRETRAINED_ENCODERS, build_encoder

__all__ = ["TwoStreamSegmenter"]


class TwoStreamSegmenter(nn.Module):
    """Appearance and (optional) motion encoders, semantic and foreground heads.

    Args:
        num_classes: semantic classes.
        use_flow: build the motion stream; without it the foreground head sees
            appearance only (the single-stream baseline).
        appearance_encoder: dilated RGB encoder.
        motion_encoder: dilated 2-channel flow encoder.
        inter_channels: width of the LR-ASPP heads.
        dilated: dilate both encoders' last stage (stride 16, as the MobileNetV3 models
            were trained); False keeps stride 32 (the bundled EfficientNet-Lite0 model).
        pretrained: start each encoder that has ImageNet weights here
            (``PRETRAINED_ENCODERS``) from them; the flow encoder's first convolution is
            then adapted from the RGB filters.
    """

    def __init__(
        self,
        num_classes: int,
        use_flow: bool = True,
        appearance_encoder: str = "mobilenet_v3_large",
        motion_encoder: str = "mobilenet_v3_small",
        inter_channels: int = 128,
        dilated: bool = True,
        pretrained: bool = False,
    ):
        super().__init__()
        self.use_flow = use_flow
        self.appearance = build_encoder(
            appearance_encoder,
            dilated=dilated,
            pretrained=pretrained and appearance_encoder in PRETRAINED_ENCODERS,
        )
        low, high = self.appearance.channels["c3"], self.appearance.channels["c5"]
        self.semantic_head = LRASPPHead(low, high, num_classes, inter_channels)
        self.motion = (
            build_encoder(
                motion_encoder,
                dilated=dilated,
                in_channels=2,
                pretrained=pretrained and motion_encoder in PRETRAINED_ENCODERS,
            )
            if use_flow
            else None
        )
        fused = high + (self.motion.channels["c5"] if self.motion is not None else 0)
        self.foreground_head = LRASPPHead(low, fused, 1, inter_channels)

    def forward(
        self, image: torch.Tensor, flow: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        """``{"out": (B, K, H, W), "foreground": (B, 1, H, W)}`` logits."""
        features = self.appearance(image)
        low, high = features["c3"], features["c5"]
        size = image.shape[-2:]
        semantic = self.semantic_head({"low": low, "high": high})
        if self.motion is not None:
            if flow is None:
                raise ValueError("this two-stream model needs flow (it was built with use_flow)")
            motion = self.motion(flow)["c5"]
            high = torch.cat([high, resize_to(motion, high.shape[-2:])], dim=1)
        foreground = self.foreground_head({"low": low, "high": high})
        return {
            "out": upsample_logits(semantic, size),
            "foreground": upsample_logits(foreground, size),
        }

    def load_appearance_from(self, segmentation_state: dict[str, torch.Tensor]) -> None:
        """Take encoder and head weights of an ``lraspp`` segmentation state dict."""
        mapped = {}
        for key, value in segmentation_state.items():
            if key.startswith("encoder."):
                mapped["appearance." + key.removeprefix("encoder.")] = value.float()
            elif key.startswith("head."):
                mapped["semantic_head." + key.removeprefix("head.")] = value.float()
        missing = [k for k in self.state_dict() if k.startswith(("appearance.", "semantic_head."))]
        absent = sorted(set(missing) - set(mapped))
        if absent:
            raise ValueError(f"segmentation weights lack {len(absent)} keys, e.g. {absent[0]}")
        try:
            self.load_state_dict(mapped, strict=False)
        except RuntimeError as exc:  # shapes differ: another inter_channels or encoder
            first = str(exc).splitlines()[1].strip() if "\n" in str(exc) else str(exc)
            raise ValueError(f"segmentation weights do not fit this model: {first}") from exc
