"""Keras -> TFLite (FP32, dynamic-range INT8, full INT8) and Keras -> ONNX.

TFLite goes through a tf_keras rebuild at batch 1 (fused LSTM op; see
``convert.autoencoder``). ONNX goes straight from the Keras 3 model with
tf2onnx, with a dynamic batch dimension.
"""

from __future__ import annotations

import tempfile
import warnings
from enum import Enum
from pathlib import Path

from calibration.dataset import RepresentativeDataset
from convert import _deps
from convert.autoencoder import AutoencoderSpec, build_autoencoder
from edge.errors import EdgewatchError
from edge.native_output import native_output_silenced

__all__ = ["Precision", "rebuild_batch1", "to_tflite", "to_onnx", "ConversionError"]

ONNX_OPSET = 17


class ConversionError(EdgewatchError):
    """A converter failed on a model it should handle."""


class Precision(str, Enum):
    FP32 = "fp32"
    DYNAMIC = "dynamic"
    INT8 = "int8"


def rebuild_batch1(model, spec: AutoencoderSpec):
    """The same architecture in tf_keras with batch 1, carrying the trained weights exactly.

    Weights are copied layer by layer by name: the two Keras versions may order the
    parallel branches of an ensemble differently, and every branch has the same shapes.
    """
    tf_keras = _deps.tf_keras()
    rebuilt = build_autoencoder(tf_keras, spec, batch_size=1)
    for layer in rebuilt.layers:
        if layer.weights:
            layer.set_weights(model.get_layer(layer.name).get_weights())
    return rebuilt


def to_tflite(batch1_model, precision: Precision, representative: RepresentativeDataset | None = None) -> bytes:
    """Convert the batch-1 tf_keras model; full INT8 has int8 input and output."""
    tf = _deps.tensorflow()
    converter = tf.lite.TFLiteConverter.from_keras_model(batch1_model)
    if precision is not Precision.FP32:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if precision is Precision.INT8:
        if representative is None:
            raise ConversionError("full INT8 conversion needs a representative dataset")
        converter.representative_dataset = lambda: ([window] for window in representative)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    try:
        with warnings.catch_warnings(), native_output_silenced(1, 2):
            warnings.simplefilter("ignore", UserWarning)  # "Statistics for quantized inputs ..."
            return converter.convert()
    except Exception as exc:  # the converter raises a zoo of types
        raise ConversionError(f"TFLite {precision.value} conversion failed: {str(exc).splitlines()[0]}") from exc


def to_onnx(model, spec: AutoencoderSpec) -> bytes:
    """Convert the Keras 3 model to ONNX (native LSTM op, dynamic batch)."""
    tf = _deps.tensorflow()
    tf2onnx = _deps.tf2onnx()
    signature = (tf.TensorSpec((None, spec.window, spec.channels), tf.float32, name="window"),)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        try:
            tf2onnx.convert.from_keras(model, input_signature=signature, opset=ONNX_OPSET, output_path=str(path))
        except Exception as exc:
            raise ConversionError(f"ONNX conversion failed: {str(exc).splitlines()[0]}") from exc
        return path.read_bytes()
