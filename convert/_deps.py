"""Lazy imports of the heavy host-side stack, with a fix named when it is missing."""

from __future__ import annotations

import os

from edge.errors import MissingDependencyError
from edge.native_output import native_output_silenced

__all__ = ["keras", "tensorflow", "tf_keras", "tf2onnx"]

_FIX = "pip install 'edgewatch[convert]'"


def _quiet() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


def _init_devices() -> None:
    """Probe devices once, quietly: without a GPU, TensorFlow logs CUDA errors on first use."""
    import tensorflow

    with native_output_silenced(2):
        tensorflow.config.list_physical_devices()


def keras():
    """Keras 3 (training and loading user models)."""
    _quiet()
    try:
        with native_output_silenced(2):  # CUDA probing banners on machines without a GPU
            import keras as module
    except ImportError as exc:
        raise MissingDependencyError(f"training and conversion need Keras 3 and TensorFlow: {_FIX}") from exc
    _init_devices()
    return module


def tensorflow():
    """TensorFlow (the TFLite converter)."""
    _quiet()
    try:
        with native_output_silenced(2):  # CUDA probing banners on machines without a GPU
            import tensorflow as module
    except ImportError as exc:
        raise MissingDependencyError(f"conversion to TFLite needs TensorFlow: {_FIX}") from exc
    module.get_logger().setLevel("ERROR")
    _init_devices()
    return module


def tf_keras():
    """tf_keras, used to rebuild models at batch 1 so the converter emits the fused LSTM op."""
    _quiet()
    try:
        with native_output_silenced(2):  # CUDA probing banners on machines without a GPU
            import tf_keras as module
    except ImportError as exc:
        raise MissingDependencyError(f"conversion to TFLite needs tf-keras: {_FIX}") from exc
    return module


def tf2onnx():
    """tf2onnx (Keras -> ONNX)."""
    _quiet()
    try:
        with native_output_silenced(2):  # CUDA probing banners on machines without a GPU
            import tf2onnx as module
    except ImportError as exc:
        raise MissingDependencyError(f"conversion to ONNX needs tf2onnx and onnx: {_FIX}") from exc
    return module
