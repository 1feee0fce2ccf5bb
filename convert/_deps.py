"""Lazy imports of the heavy host-side stack, with a fix named when it is missing."""

from __future__ import annotations

import importlib
import os

from edge.errors import MissingDependencyError
from edge.native_output import native_output_silenced

__all__ = ["keras", "tensorflow", "tf_keras", "tf2onnx"]

_FIX = "pip install 'edgewatch[convert]'"


def _import(name: str, needed_for: str, probe_devices: bool = False):
    """Import ``name`` quietly (CUDA probing banners on machines without a GPU)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    try:
        with native_output_silenced(2):
            module = importlib.import_module(name)
            if probe_devices:  # TensorFlow logs CUDA errors on first device use
                importlib.import_module("tensorflow").config.list_physical_devices()
    except ImportError as exc:
        raise MissingDependencyError(f"{needed_for}: {_FIX}") from exc
    return module


def keras():
    """Keras 3 (training and loading user models)."""
    return _import("keras", "training and conversion need Keras 3 and TensorFlow", probe_devices=True)


def tensorflow():
    """TensorFlow (the TFLite converter)."""
    module = _import("tensorflow", "conversion to TFLite needs TensorFlow", probe_devices=True)
    module.get_logger().setLevel("ERROR")
    return module


def tf_keras():
    """tf_keras, used to rebuild models at batch 1 so the converter emits the fused LSTM op."""
    return _import("tf_keras", "conversion to TFLite needs tf-keras")


def tf2onnx():
    """tf2onnx (Keras -> ONNX)."""
    return _import("tf2onnx", "conversion to ONNX needs tf2onnx and onnx")
