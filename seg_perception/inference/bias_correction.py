"""Bias correction of a QDQ model's convolutions (no ROS).

Rounding a channel's weights shifts its output's mean: by ``sum (W_q - W) * E[x]``
over the kernel, with ``E[x]`` the per-channel mean of the convolution's input. That
shift is removed from the channel's bias (the "fast bias correction" of post-training
quantization), with the input means measured on the calibration frames through the
FP32 model. It matters most with 7-bit weights and for depthwise kernels, whose few
weights a channel round with little averaging.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

__all__ = ["conv_input_means", "correct_conv_biases"]


def conv_input_means(fp32, batches: Iterable[np.ndarray]) -> dict[str, np.ndarray]:
    """Per-channel mean of every Conv's input over ``batches`` through the FP32
    ``onnx.ModelProto`` (left unchanged), by Conv node name."""
    import onnx
    import onnxruntime as ort

    model = onnx.ModelProto()
    model.CopyFrom(fp32)
    convs = [node for node in model.graph.node if node.op_type == "Conv"]
    inputs = sorted({node.input[0] for node in convs})
    known = {output.name for output in model.graph.output}
    extra = [onnx.ValueInfoProto(name=name) for name in inputs if name not in known]
    model.graph.output.extend(extra)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    sums: dict[str, np.ndarray] = {}
    count = 0
    for batch in batches:
        values = session.run(inputs, {session.get_inputs()[0].name: batch})
        for name, value in zip(inputs, values, strict=True):
            means = value.astype(np.float64).mean(axis=(0, 2, 3))
            sums[name] = sums.get(name, 0.0) + means
        count += 1
    if count == 0:
        raise ValueError("no calibration frames")
    return {node.name: sums[node.input[0]] / count for node in convs}


def correct_conv_biases(quantized, fp32, input_means: dict[str, np.ndarray]) -> int:
    """Correct, in place, the int32 biases of ``quantized``'s Convs (QDQ
    ``onnx.ModelProto``) for their weights' rounding against ``fp32``'s weights;
    returns how many Convs were corrected."""
    from onnx import numpy_helper

    fp32_inits = {t.name: t for t in fp32.graph.initializer}
    fp32_weights = {
        node.name: numpy_helper.to_array(fp32_inits[node.input[1]])
        for node in fp32.graph.node
        if node.op_type == "Conv" and node.input[1] in fp32_inits
    }
    inits = {t.name: t for t in quantized.graph.initializer}
    producer = {output: node for node in quantized.graph.node for output in node.output}
    corrected = 0
    for conv in quantized.graph.node:
        if conv.op_type != "Conv" or len(conv.input) < 3 or conv.name not in fp32_weights:
            continue
        weight_dq, bias_dq = producer.get(conv.input[1]), producer.get(conv.input[2])
        if weight_dq is None or bias_dq is None or conv.name not in input_means:
            continue  # weights or bias left in float
        if bias_dq.op_type != "DequantizeLinear" or weight_dq.op_type != "DequantizeLinear":
            continue
        rounded = _dequantized(weight_dq, inits)
        shift = _output_shift(rounded - fp32_weights[conv.name], input_means[conv.name], conv)
        bias_q, bias_scale = (numpy_helper.to_array(inits[n]) for n in bias_dq.input[:2])
        bias = bias_q.astype(np.float64) * bias_scale - shift
        limit = np.iinfo(np.int32)
        new_q = np.clip(np.round(bias / bias_scale), limit.min, limit.max).astype(np.int32)
        inits[bias_dq.input[0]].CopyFrom(numpy_helper.from_array(new_q, bias_dq.input[0]))
        corrected += 1
    return corrected


def _dequantized(node, inits) -> np.ndarray:
    from onnx import numpy_helper

    values, scale, zero = (numpy_helper.to_array(inits[n]) for n in node.input[:3])
    shape = (-1,) + (1,) * (values.ndim - 1)  # per output channel (axis 0)
    if scale.ndim:
        scale, zero = scale.reshape(shape), zero.reshape(shape)
    return (values.astype(np.float64) - zero.astype(np.float64)) * scale


def _output_shift(weight_error: np.ndarray, input_mean: np.ndarray, conv) -> np.ndarray:
    """Per output channel, the mean output change caused by ``weight_error``."""
    groups = next((a.i for a in conv.attribute if a.name == "group"), 1)
    out_channels, in_per_group = weight_error.shape[:2]
    per_input = weight_error.sum(axis=(2, 3))  # (out, in / groups)
    group_of_output = np.arange(out_channels) // (out_channels // groups)
    channels = group_of_output[:, None] * in_per_group + np.arange(in_per_group)[None, :]
    return (per_input * input_mean[channels]).sum(axis=1)
