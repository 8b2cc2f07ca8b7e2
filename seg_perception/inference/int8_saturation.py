"""Whether an INT8 model's convolutions can saturate on x86 CPUs without VNNI.

SSE4.1, AVX2 and AVX-512 CPUs without VNNI compute u8 x s8 dot products with
``vpmaddubsw``, which adds two products into a saturating int16: with 8-bit weights
``255 * 127 * 2 = 64770`` exceeds 32767, and ONNX Runtime's and oneDNN's (OpenVINO's)
kernels then differ from VNNI's exact int32 sums. With weights in [-64, 64] (7-bit,
``reduce_range``) a pair is at most ``255 * 64 * 2 = 32640``: no saturation on any of
those kernels, so such a CPU computes exactly the integers a VNNI CPU computes, and
the agreement measured on one holds on the other.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SATURATION_FREE_WEIGHT_LIMIT", "largest_int8_weight", "saturation_free"]

SATURATION_FREE_WEIGHT_LIMIT = 64
_DOT_PRODUCT_OPS = {"Conv", "ConvTranspose", "MatMul", "Gemm"}


def largest_int8_weight(model) -> int:
    """The largest |value| of the int8 weights that feed a dot-product operator
    (through a DequantizeLinear) in the QDQ ``onnx.ModelProto``; 0 when there are none."""
    from onnx import numpy_helper

    initializers = {tensor.name: tensor for tensor in model.graph.initializer}
    dequantized = {
        node.output[0]: node.input[0]
        for node in model.graph.node
        if node.op_type == "DequantizeLinear" and node.input[0] in initializers
    }
    largest = 0
    for node in model.graph.node:
        if node.op_type not in _DOT_PRODUCT_OPS:
            continue
        for name in node.input[1:2]:  # the weight operand
            source = dequantized.get(name)
            if source is None:
                continue
            values = numpy_helper.to_array(initializers[source])
            if values.dtype == np.int8:
                largest = max(largest, int(np.abs(values.astype(np.int16)).max(initial=0)))
    return largest


def saturation_free(model) -> bool:
    return largest_int8_weight(model) <= SATURATION_FREE_WEIGHT_LIMIT
