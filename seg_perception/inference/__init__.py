"""Fast inference: ONNX export and cache, ONNX Runtime / OpenVINO backends, INT8 (no ROS)."""

from .backends import BACKENDS, PRECISIONS, BackendChoice, CompiledNetwork, choose_backend

__all__ = ["BACKENDS", "PRECISIONS", "BackendChoice", "CompiledNetwork", "choose_backend"]
