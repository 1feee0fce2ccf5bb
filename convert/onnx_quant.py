"""ONNX quantization with onnxruntime: dynamic (``DynamicQuantizeLSTM``) and static QDQ.

Static QDQ quantizes only the op types it is told to; ``LSTM`` is not in
onnxruntime's QDQ registry, so plain static quantization silently leaves the
LSTM -- most of the model -- in float. Here ``op_types_to_quantize`` names the
compute ops of the graph (MatMul, Gemm, Conv, Gather) and ``LSTM``/``GRU``
whenever the graph has them: their weights are stored as INT8 (with float
compute), which is what shrinks the file.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from calibration.dataset import CalibrationMethod, RepresentativeDataset
from convert.export import ConversionError
from edge.errors import MissingDependencyError

__all__ = ["quantize_onnx_dynamic", "quantize_onnx_static", "onnx_op_types", "compact_onnx"]

_FIX = "pip install 'edgewatch[convert]'"
_RECURRENT = ("LSTM", "GRU")
# Quantize where the weights and the arithmetic are; Q/DQ pairs around every Reshape/Slice/Transpose of a
# small recurrent graph cost more bytes and time than they save.
_COMPUTE = ("MatMul", "Gemm", "Conv", "Gather", *_RECURRENT)


def _quantization():
    try:
        from onnxruntime import quantization
    except ImportError as exc:
        raise MissingDependencyError(f"ONNX quantization needs onnxruntime and onnx: {_FIX}") from exc
    logging.getLogger("onnxruntime").setLevel(logging.ERROR)
    return quantization


def onnx_op_types(content: bytes) -> list[str]:
    """Op types of an ONNX graph, in order of first use (including ops inside sub-graphs' parents)."""
    import onnx

    model = onnx.load_from_string(content)
    return list(dict.fromkeys(node.op_type for node in model.graph.node))


def _run(quantize, content: bytes, **kwargs) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / "in.onnx", Path(tmp) / "out.onnx"
        source.write_bytes(content)
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)  # the quantizer's advice ("consider pre-processing") goes to the root logger
        try:
            quantize(str(source), str(target), **kwargs)
        except Exception as exc:  # onnxruntime's quantizer raises untyped errors
            raise ConversionError(f"onnxruntime quantization failed: {str(exc).splitlines()[0]}") from exc
        finally:
            root.setLevel(level)
        return target.read_bytes()


def quantize_onnx_dynamic(content: bytes) -> bytes:
    """INT8 weights, activations quantized on the fly; LSTM -> ``DynamicQuantizeLSTM`` (GRU stays float)."""
    q = _quantization()
    return _run(q.quantize_dynamic, content, weight_type=q.QuantType.QInt8)


def quantize_onnx_static(content: bytes, representative: RepresentativeDataset,
                         method: CalibrationMethod = CalibrationMethod.MINMAX) -> bytes:
    """Static QDQ calibrated on ``representative``, with the recurrent ops' weights included."""
    import onnx

    q = _quantization()
    graph_ops = set(onnx_op_types(content))
    op_types = sorted(graph_ops & set(_COMPUTE))
    input_name = onnx.load_from_string(content).graph.input[0].name
    methods = {CalibrationMethod.MINMAX: q.CalibrationMethod.MinMax,
               CalibrationMethod.PERCENTILE: q.CalibrationMethod.Percentile,
               CalibrationMethod.ENTROPY: q.CalibrationMethod.Entropy}
    return _run(q.quantize_static, content, calibration_data_reader=representative.onnx_reader(input_name),
                quant_format=q.QuantFormat.QDQ, op_types_to_quantize=op_types, per_channel=False,
                activation_type=q.QuantType.QInt8, weight_type=q.QuantType.QInt8, calibrate_method=methods[method],
                extra_options={"ActivationSymmetric": False, "WeightSymmetric": True})


def compact_onnx(content: bytes) -> bytes:
    """The same graph with short tensor names, no node names, no value_info and no doc strings.

    tf2onnx names tensors after TensorFlow's scopes (``functional_1/dense_1/Cast/ReadVariableOp:0_scale``);
    in a small recurrent model those names and the shape annotations are 10-15 % of an INT8 file.
    Graph inputs and outputs keep their names, so callers see no difference.
    """
    import onnx

    model = onnx.load_from_string(content)
    graph = model.graph
    if any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS) for n in graph.node for a in n.attribute):
        return content  # sub-graphs (Loop, If, Scan) refer to outer names: leave them as they are
    keep = {v.name for v in graph.input} | {v.name for v in graph.output} | {""}
    names: dict[str, str] = {}

    def short(name: str) -> str:
        if name in keep:
            return name
        return names.setdefault(name, f"t{len(names)}")

    for node in graph.node:
        node.name, node.doc_string = "", ""
        node.input[:] = [short(n) for n in node.input]
        node.output[:] = [short(n) for n in node.output]
    for initializer in graph.initializer:
        initializer.name = short(initializer.name)
    del graph.value_info[:]
    model.doc_string = graph.doc_string = ""
    return model.SerializeToString()
