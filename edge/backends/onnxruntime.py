"""onnxruntime backend for ``.onnx`` models."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edge.errors import MissingDependencyError, ModelLoadError

__all__ = ["OnnxRuntimeBackend"]


class OnnxRuntimeBackend:
    """Runs an ONNX model on onnxruntime's CPU provider, one window per call."""

    name = "onnxruntime"

    def __init__(self, model_path: Path, threads: int = 1) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise MissingDependencyError("the onnxruntime backend needs onnxruntime: pip install onnxruntime") from exc
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own untyped errors
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelLoadError(f"onnxruntime cannot load {Path(model_path).name}: {reason}") from exc
        first = self._session.get_inputs()[0]
        self._input_name = first.name
        self._input_rank = len(first.shape)
        self._input_dtype = np.int64 if first.type == "tensor(int64)" else \
            np.int32 if first.type == "tensor(int32)" else np.float32

    def run(self, window: np.ndarray) -> np.ndarray:
        data = np.asarray(window)
        data = np.rint(data).astype(self._input_dtype) if self._input_dtype is not np.float32 and data.dtype.kind == "f" \
            else data.astype(self._input_dtype, copy=False)
        while data.ndim < self._input_rank:
            data = data[None]
        return self._session.run(None, {self._input_name: data})[0]

    def close(self) -> None:
        self._session = None
