"""How big the tensor arena must be: measured with TFLite Micro, or estimated from tensor sizes.

Measured: the smallest arena with which the ``tflite-micro`` Python
interpreter allocates and invokes the model, found by bisection in a child
process, plus a safety margin. The host build has 64-bit pointers, so its
bookkeeping is larger than on a 32-bit MCU; optimized kernels (CMSIS-NN,
ESP-NN) may need other scratch sizes, which is what the margin is for.

Estimated (no ``tflite-micro``): every non-constant tensor counted without
reuse, plus TFLite Micro's per-tensor and per-op records and 1 KiB per LSTM
op for its persistent data, plus the margin. Labelled as an estimate.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from edge.errors import ModelLoadError
from firmware_bridge.export.tflm import tflm_version

__all__ = ["ArenaSize", "ArenaTrial", "measure_arena", "estimate_arena", "probe_arena", "arena_for"]

_WORKER = "firmware_bridge.export._arena_worker"
_ALIGN = 16
# Host figures from TFLite Micro's RecordingMicroAllocator (x86_64).
_EVAL_TENSOR_BYTES, _NODE_BYTES, _LSTM_PERSISTENT_BYTES = 24, 64, 1024
_TYPE_BYTES = {"FLOAT32": 4, "FLOAT16": 2, "INT32": 4, "UINT32": 4, "INT16": 2, "UINT16": 2, "INT8": 1,
               "UINT8": 1, "BOOL": 1, "INT64": 8, "UINT64": 8, "FLOAT64": 8, "INT4": 1}


@dataclass(frozen=True)
class ArenaSize:
    """The arena to reserve (``recommended``) and how it was found."""

    recommended: int
    base: int  # the measured minimum, or the estimate before the margin
    measured: bool
    margin: float
    method: str
    allocations: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict:
        return {**asdict(self), "allocations": list(self.allocations)}


@dataclass(frozen=True)
class ArenaTrial:
    """One isolated attempt: did ``size`` bytes allocate and invoke, and if not, why."""

    size: int
    ok: bool
    reason: str


def _with_margin(base: int, margin: float) -> int:
    return int(math.ceil(base * (1.0 + margin) / _ALIGN) * _ALIGN)


def _worker(model_path: Path, *args: str, timeout: float = 300) -> dict:
    done = subprocess.run([sys.executable, "-m", _WORKER, str(model_path), *args], capture_output=True,
                          text=True, timeout=timeout, check=False)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        said = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        raise ModelLoadError(f"measuring the TFLite Micro arena failed: {said}")
    result = json.loads(lines[-1])
    if "error" in result:
        raise ModelLoadError(result["error"])
    return result


def measure_arena(model_path: Path, margin: float = 0.25) -> ArenaSize:
    """Bisect for the smallest working arena with the ``tflite-micro`` interpreter; add ``margin``."""
    result = _worker(Path(model_path), "search")
    minimum = int(result["minimum"])
    method = (f"measured with tflite-micro {tflm_version()}: {minimum} bytes is the smallest arena that "
              f"allocates and invokes ({result['trials']} trials), plus {margin:.0%}")
    return ArenaSize(_with_margin(minimum, margin), minimum, True, margin, method, tuple(result["allocations"]))


def probe_arena(model_path: Path, size: int) -> ArenaTrial:
    """Try one arena size in a child process (a too-small arena can crash TFLite Micro)."""
    result = _worker(Path(model_path), "try", str(int(size)))
    return ArenaTrial(int(result["size"]), bool(result["ok"]), str(result["reason"]))


def estimate_arena(model: bytes, margin: float = 0.25) -> ArenaSize:
    """An upper-bound style estimate from the flatbuffer's tensors (no TFLite Micro needed)."""
    from ai_edge_litert import schema_py_generated as fb

    type_names = {value: name for name, value in vars(fb.TensorType).items() if not name.startswith("_")}
    op_names = {value: name for name, value in vars(fb.BuiltinOperator).items() if not name.startswith("_")}
    root = fb.Model.GetRootAs(model, 0)
    graph = root.Subgraphs(0)
    activations = 0
    for i in range(graph.TensorsLength()):
        tensor = graph.Tensors(i)
        buffer = root.Buffers(tensor.Buffer())
        if buffer is not None and (buffer.DataLength() > 0 or buffer.Size() > 0):
            continue  # a constant: it stays in flash
        count = math.prod(int(tensor.Shape(d)) for d in range(tensor.ShapeLength()))
        activations += count * _TYPE_BYTES.get(type_names.get(tensor.Type(), ""), 4)
    codes = [root.OperatorCodes(graph.Operators(i).OpcodeIndex()) for i in range(graph.OperatorsLength())]
    lstms = sum(op_names.get(max(c.BuiltinCode(), c.DeprecatedBuiltinCode()), "").endswith("LSTM") for c in codes)
    base = (activations + _EVAL_TENSOR_BYTES * graph.TensorsLength() + _NODE_BYTES * len(codes)
            + _LSTM_PERSISTENT_BYTES * lstms)
    method = (f"ESTIMATE (tflite-micro not installed): {activations} bytes of non-constant tensors without "
              f"reuse + TFLite Micro's records ({base - activations} bytes) = {base}, plus {margin:.0%}; "
              "measure it with pip install 'edgewatch[firmware]'")
    return ArenaSize(_with_margin(base, margin), base, False, margin, method)


def arena_for(model_path: Path, margin: float = 0.25) -> ArenaSize:
    """Measured when ``tflite-micro`` is installed, estimated otherwise."""
    if tflm_version() is None:
        return estimate_arena(Path(model_path).read_bytes(), margin)
    return measure_arena(model_path, margin)
