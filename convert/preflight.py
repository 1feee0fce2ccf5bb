"""Pre-flight of every artifact: list its ops and check them against each target runtime.

Targets: LiteRT (builtin ops only: no Flex / Select-TF delegate on devices),
onnxruntime (CPU kernels; checked by opening a session), and TensorFlow Lite
Micro (the op list of ``firmware_bridge.export.ops``, for the firmware export).
A Flex op, or an op the artifact's own runtime cannot run, fails the
conversion with one line naming the ops; TFLite Micro support is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from edge.errors import ModelLoadError
from edge.native_output import native_output_silenced
from firmware_bridge.export.ops import TFLM_RESOLVER_METHODS, model_ops

__all__ = ["PreflightResult", "PreflightError", "tflite_ops", "tflite_ops_of", "onnx_ops", "preflight_artifact"]

# Ops that need TensorFlow's TensorList kernels (Keras 3 loops at dynamic batch); builtins lack them.
_TENSORLIST = ("TensorList",)


class PreflightError(ModelLoadError):
    """An artifact uses ops its target runtime cannot run (named in the message)."""


@dataclass(frozen=True)
class PreflightResult:
    """The ops of one artifact and which targets can run it (``None``: not applicable)."""

    file: str
    format: str
    ops: list[str]
    targets: dict[str, dict] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"ops": self.ops, "targets": self.targets}


def tflite_ops(path: Path) -> list[str]:
    """Op names in first-use order, read by the LiteRT interpreter without allocating (Flex ops included)."""
    return model_ops(path)


def tflite_ops_of(content: bytes) -> list[str]:
    """``tflite_ops`` of an in-memory flatbuffer."""
    from ai_edge_litert.interpreter import Interpreter

    with native_output_silenced(2):
        details = Interpreter(model_content=content)._get_ops_details()
    return list(dict.fromkeys(str(op["op_name"]) for op in details))


def onnx_ops(path: Path) -> list[str]:
    import onnx

    graph = onnx.load(str(path)).graph
    return list(dict.fromkeys(f"{n.domain + '.' if n.domain else ''}{n.op_type}" for n in graph.node))


def _litert_runs(path: Path) -> str | None:
    from ai_edge_litert.interpreter import Interpreter

    try:
        with native_output_silenced(2):
            Interpreter(model_path=str(path)).allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return None


def _onnxruntime_runs(path: Path) -> str | None:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    try:
        ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises untyped errors
        return str(exc).strip().splitlines()[0]
    return None


def preflight_artifact(path: Path, model_format: str) -> PreflightResult:
    """List the ops of ``path`` and check each target; ``PreflightError`` if its own runtime cannot run it."""
    path = Path(path)
    if model_format == "onnx":
        ops = onnx_ops(path)
        problem = _onnxruntime_runs(path)
        targets = {"onnxruntime": {"ok": problem is None, "problem": problem}}
        if problem:
            raise PreflightError(f"{path.name}: onnxruntime cannot run it ({problem}); "
                                 "re-export with a lower opset or replace the unsupported layer")
        return PreflightResult(path.name, model_format, ops, targets)
    ops = tflite_ops(path)
    flex = [op for op in ops if op.startswith("Flex") or any(t in op for t in _TENSORLIST)]
    if flex:
        raise PreflightError(f"{path.name} uses TensorFlow (Flex/Select-TF) ops {', '.join(flex)}: LiteRT, "
                             "tflite-runtime and TFLite Micro on devices cannot run them; replace the layer that "
                             "needs them (often a Lambda or a tf.* call) with builtin Keras layers")
    problem = _litert_runs(path)
    if problem:
        raise PreflightError(f"{path.name}: LiteRT cannot run it ({problem})")
    missing_tflm = [op for op in ops if op not in TFLM_RESOLVER_METHODS]
    targets = {"litert": {"ok": True, "problem": None},
               "tflite_micro": {"ok": not missing_tflm, "missing_ops": missing_tflm}}
    return PreflightResult(path.name, model_format, ops, targets)
