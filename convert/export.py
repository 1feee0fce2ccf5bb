"""Keras -> TFLite (FP32, float16, dynamic-range, full INT8, on the fused or the unrolled graph) and -> ONNX.

TFLite goes through a tf_keras rebuild at batch 1: with TF 2.21 only tf_keras
emits the fused ``UNIDIRECTIONAL_SEQUENCE_LSTM`` (Keras 3's LSTM becomes a WHILE
loop whose full-INT8 calibration crashes). The unrolled rebuild has no loop at
all, so every quantization mode works on it and XNNPACK runs it fast. ONNX
goes straight from the Keras 3 model with tf2onnx, with a dynamic batch axis.
"""

from __future__ import annotations

import re
import tempfile
import warnings
from enum import Enum
from pathlib import Path

from calibration.dataset import RepresentativeDataset
from convert import _deps
from convert.families import Family, Spec
from convert.families.autoencoder import AUTOENCODER, AutoencoderSpec
from edge.errors import EdgewatchError, ModelLoadError
from edge.native_output import native_output_silenced

__all__ = ["Precision", "ConversionError", "FlexOpsError", "rebuild_batch1", "rebuild", "to_tflite", "compact_tflite",
           "to_onnx"]

ONNX_OPSET = 17


class ConversionError(EdgewatchError):
    """A converter failed on a model it should handle."""


class FlexOpsError(ModelLoadError):
    """The model needs TensorFlow (Flex / Select-TF) ops that no device runtime here can run."""


class Precision(str, Enum):
    FP32 = "fp32"
    FLOAT16 = "float16"
    DYNAMIC = "dynamic"
    INT8 = "int8"


def rebuild(model, family: Family, spec: Spec, unroll: bool = False):
    """The same architecture in tf_keras at batch 1 (fused LSTM, or unrolled), with the trained weights.

    An ensemble's weights are copied layer by layer by name: the two Keras versions may
    order its parallel branches differently, and every branch has the same shapes.
    """
    tf_keras = _deps.tf_keras()
    rebuilt = family.build(tf_keras, spec, batch_size=1, unroll=unroll)
    try:
        if getattr(spec, "members", 1) > 1:
            for layer in (layer for layer in rebuilt.layers if layer.weights):
                layer.set_weights(model.get_layer(layer.name).get_weights())
        else:
            rebuilt.set_weights(model.get_weights())
    except ValueError as exc:
        raise ModelLoadError(f"the model's weights do not fit the {family.name} architecture {spec.to_dict()}: "
                             f"{str(exc).splitlines()[0]}") from exc
    return rebuilt


def rebuild_batch1(model, spec: AutoencoderSpec):
    """The autoencoder rebuilt in tf_keras at batch 1 (kept for the MCU export and benchmarks)."""
    return rebuild(model, AUTOENCODER, spec)


def to_tflite(batch1_model, precision: Precision, representative: RepresentativeDataset | None = None) -> bytes:
    """Convert a batch-1 tf_keras model; full INT8 has INT8 input and output (integer inputs stay integer).

    Float modes allow Select-TF ops so that a model needing them converts and the
    pre-flight can name them; full INT8 allows builtins only.
    """
    tf = _deps.tensorflow()
    converter = tf.lite.TFLiteConverter.from_keras_model(batch1_model)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS, tf.lite.OpsSet.SELECT_TF_OPS]
    converter.exclude_conversion_metadata = True  # the converter's own build and options record: no runtime reads it
    if precision is not Precision.FP32:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if precision is Precision.DYNAMIC:
        # TF 2.21's MLIR dynamic-range quantizer leaves the fused LSTM's weights in float (file unchanged);
        # the previous quantizer stores them as INT8 (measured: 64-unit classifier 74,008 -> 25,432 bytes)
        converter.experimental_new_dynamic_range_quantizer = False
    if precision is Precision.FLOAT16:
        converter.target_spec.supported_types = [tf.float16]
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
            return compact_tflite(converter.convert())
    except Exception as exc:  # the converter raises a zoo of types
        flex = re.findall(r"TF Select ops: ([^\n]+)", str(exc))
        if flex:
            raise FlexOpsError(f"TFLite {precision.value}: the model needs TensorFlow ops {flex[0].strip()} that only "
                               "the Flex delegate runs, which device runtimes lack; replace the layer that uses them "
                               "(often a Lambda) with builtin layers") from exc
        raise ConversionError(f"TFLite {precision.value} conversion failed: {str(exc).splitlines()[0]}") from exc


def compact_tflite(content: bytes) -> bytes:
    """The model without what no runtime reads; every output stays bit-identical.

    Dropped: tensor/subgraph names and signature defs (runtimes address tensors by
    index; measured: a 64-unit GRU classifier 87,748 -> 86,052 B, its unrolled INT8
    graph 237,400 -> 123,256 B) and the empty quantization table the converter gives
    every float tensor (a table without scales means "not quantized", as does no
    table; measured: 168 B for the CNN+LSTM, 448 B for the GRU's 62 tensors).
    """
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(content))
    flatbuffer_utils.strip_strings(model)
    for subgraph in model.subgraphs:
        for tensor in subgraph.tensors:
            if _is_empty_quantization(tensor.quantization):
                tensor.quantization = None
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def _is_empty_quantization(quantization) -> bool:
    return quantization is not None and quantization.details is None and not any(
        getattr(quantization, name) is not None and len(getattr(quantization, name))
        for name in ("scale", "zeroPoint", "min", "max"))


def to_onnx(model, spec: Spec) -> bytes:
    """Convert the Keras 3 model to ONNX (native LSTM/GRU ops, dynamic batch)."""
    tf = _deps.tensorflow()
    tf2onnx = _deps.tf2onnx()
    name = model.inputs[0].name.split(":")[0] if getattr(model, "inputs", None) else "input"
    signature = (tf.TensorSpec((None, *spec.input_shape), getattr(tf, spec.input_dtype), name=name),)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        try:
            with native_output_silenced(1, 2):
                tf2onnx.convert.from_keras(model, input_signature=signature, opset=ONNX_OPSET, output_path=str(path))
        except Exception as exc:
            raise ConversionError(f"ONNX conversion failed: {str(exc).splitlines()[0]}") from exc
        return path.read_bytes()
