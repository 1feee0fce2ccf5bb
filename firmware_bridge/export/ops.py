"""Which ops a model uses, and whether TensorFlow Lite Micro has them.

``TFLM_RESOLVER_METHODS`` maps each builtin op TFLite Micro implements to the
``tflite::MicroMutableOpResolver`` method that registers it (from
``tensorflow/lite/micro/micro_mutable_op_resolver.h``, 2025). Every entry was
checked against the ``tflite-micro`` Python interpreter (0.dev20261023): each
op below is registered there, and TILE, GELU, BIDIRECTIONAL_SEQUENCE_LSTM,
UNIDIRECTIONAL_SEQUENCE_RNN and the other ops missing here are not.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edge.errors import MissingDependencyError, ModelLoadError
from edge.native_output import native_output_silenced

__all__ = ["TFLM_RESOLVER_METHODS", "OpProblem", "UnsupportedOpsError", "model_ops", "preflight"]

_METHODS = """
ABS:Abs ADD:Add ADD_N:AddN ARG_MAX:ArgMax ARG_MIN:ArgMin ASSIGN_VARIABLE:AssignVariable
AVERAGE_POOL_2D:AveragePool2D BATCH_MATMUL:BatchMatMul BATCH_TO_SPACE_ND:BatchToSpaceNd
BROADCAST_ARGS:BroadcastArgs BROADCAST_TO:BroadcastTo CALL_ONCE:CallOnce CAST:Cast CEIL:Ceil
CONCATENATION:Concatenation CONV_2D:Conv2D COS:Cos CUMSUM:CumSum DEPTH_TO_SPACE:DepthToSpace
DEPTHWISE_CONV_2D:DepthwiseConv2D DEQUANTIZE:Dequantize DIV:Div DYNAMIC_UPDATE_SLICE:DynamicUpdateSlice
EMBEDDING_LOOKUP:EmbeddingLookup ELU:Elu EQUAL:Equal EXP:Exp EXPAND_DIMS:ExpandDims FILL:Fill FLOOR:Floor
FLOOR_DIV:FloorDiv FLOOR_MOD:FloorMod FULLY_CONNECTED:FullyConnected GATHER:Gather GATHER_ND:GatherNd
GREATER:Greater GREATER_EQUAL:GreaterEqual HARD_SWISH:HardSwish IF:If L2_NORMALIZATION:L2Normalization
L2_POOL_2D:L2Pool2D LEAKY_RELU:LeakyRelu LESS:Less LESS_EQUAL:LessEqual LOG:Log LOGICAL_AND:LogicalAnd
LOGICAL_NOT:LogicalNot LOGICAL_OR:LogicalOr LOGISTIC:Logistic LOG_SOFTMAX:LogSoftmax MAXIMUM:Maximum
MAX_POOL_2D:MaxPool2D MIRROR_PAD:MirrorPad MEAN:Mean MINIMUM:Minimum MUL:Mul NEG:Neg NOT_EQUAL:NotEqual
PACK:Pack PAD:Pad PADV2:PadV2 PRELU:Prelu QUANTIZE:Quantize READ_VARIABLE:ReadVariable REDUCE_MAX:ReduceMax
REDUCE_MIN:ReduceMin RELU:Relu RELU6:Relu6 RESHAPE:Reshape RESIZE_BILINEAR:ResizeBilinear
RESIZE_NEAREST_NEIGHBOR:ResizeNearestNeighbor REVERSE_V2:ReverseV2 ROUND:Round RSQRT:Rsqrt
SELECT_V2:SelectV2 SHAPE:Shape SIN:Sin SLICE:Slice SOFTMAX:Softmax SPACE_TO_BATCH_ND:SpaceToBatchNd
SPACE_TO_DEPTH:SpaceToDepth SPLIT:Split SPLIT_V:SplitV SQUEEZE:Squeeze SQRT:Sqrt SQUARE:Square
SQUARED_DIFFERENCE:SquaredDifference STRIDED_SLICE:StridedSlice SUB:Sub SUM:Sum SVDF:Svdf TANH:Tanh
TRANSPOSE_CONV:TransposeConv TRANSPOSE:Transpose UNPACK:Unpack
UNIDIRECTIONAL_SEQUENCE_LSTM:UnidirectionalSequenceLSTM VAR_HANDLE:VarHandle WHILE:While ZEROS_LIKE:ZerosLike
"""
TFLM_RESOLVER_METHODS: dict[str, str] = {
    op: "Add" + method for op, method in (pair.split(":") for pair in _METHODS.split())
}

_REBUILD_AE = ("rebuild the autoencoder for microcontrollers from the trained model: add "
               "--model MODEL.keras --data TRAIN.csv (convert/mcu.py swaps RepeatVector's TILE for "
               "BROADCAST_TO with the same weights)")

# Keras layers that usually produce an op TFLite Micro lacks, and what to do about it.
_KNOWN = {
    "TILE": ("RepeatVector", _REBUILD_AE),
    "BIDIRECTIONAL_SEQUENCE_LSTM": ("Bidirectional(LSTM)", "use a unidirectional LSTM"),
    "UNIDIRECTIONAL_SEQUENCE_RNN": ("SimpleRNN", "use an LSTM, which TFLite Micro runs fused"),
    "GELU": ("activation='gelu'", "use relu or tanh"),
    "LSTM": ("LSTM without the fused sequence op", "convert through the tf_keras batch-1 route (convert/export.py)"),
}


@dataclass(frozen=True)
class OpProblem:
    """One op of the model that TFLite Micro cannot run, with its likely origin and a fix."""

    op: str
    origin: str | None
    fix: str

    def __str__(self) -> str:
        origin = f" (from {self.origin})" if self.origin else ""
        return f"{self.op}{origin} is not in TFLite Micro: {self.fix}"


class UnsupportedOpsError(ModelLoadError):
    """The model uses ops TFLite Micro does not implement; ``problems`` names each."""

    def __init__(self, problems: list[OpProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


def model_ops(model_path: Path) -> list[str]:
    """Op names in graph order (first use), from the LiteRT interpreter's ``_get_ops_details()``."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as exc:
        raise MissingDependencyError("reading ops needs ai-edge-litert: pip install 'ai-edge-litert>=2.3'") from exc
    try:
        with native_output_silenced(2):
            details = Interpreter(model_path=str(model_path))._get_ops_details()
    except (ValueError, RuntimeError) as exc:
        raise ModelLoadError(f"LiteRT cannot read {Path(model_path).name}: {str(exc).strip().splitlines()[0]}") from exc
    return list(dict.fromkeys(str(op["op_name"]) for op in details))


def preflight(ops: list[str]) -> None:
    """Raise ``UnsupportedOpsError`` naming every op of ``ops`` TFLite Micro lacks."""
    problems = []
    for op in ops:
        if op in TFLM_RESOLVER_METHODS:
            continue
        origin, fix = _KNOWN.get(op, (None, "replace the layer that produces it with one built from supported ops"))
        if op.startswith("Flex"):
            origin, fix = "a TensorFlow (Flex) op", "convert with TFLITE_BUILTINS_INT8 only; edgewatch convert does"
        problems.append(OpProblem(op, origin, fix))
    if problems:
        raise UnsupportedOpsError(problems)
