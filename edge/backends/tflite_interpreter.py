"""What LiteRT and tflite-runtime share: the TFLite ``Interpreter`` API, float or integer I/O."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edge.errors import ModelLoadError
from edge.native_output import native_output_silenced

__all__ = ["TFLiteInterpreterBackend", "quantize"]


def quantize(values: np.ndarray, scale: float, zero_point: int, dtype: type) -> np.ndarray:
    """Affine quantization with rounding and saturation to ``dtype``'s range."""
    info = np.iinfo(dtype)
    scaled = np.round(values / scale) + zero_point
    return np.clip(scaled, info.min, info.max).astype(dtype)


class TFLiteInterpreterBackend:
    """Runs a ``.tflite`` model through an ``Interpreter`` class (LiteRT's or tflite-runtime's).

    The fused LSTM op keeps state across ``invoke()``; every window starts
    from ``reset_all_variables()`` so results do not drift.
    """

    name = "tflite"
    label = "TFLite"
    execution = "cpu"

    def __init__(self, model_path: Path, threads: int, interpreter_class: type) -> None:
        try:
            with native_output_silenced(2):
                self._interp = interpreter_class(model_path=str(model_path), num_threads=threads)
                self._interp.allocate_tensors()
        except (ValueError, RuntimeError, SystemError, AttributeError) as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelLoadError(f"{self.label} cannot load {Path(model_path).name}: {reason}") from exc
        self._in = self._interp.get_input_details()[0]
        self._out = self._interp.get_output_details()[0]

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(v) for v in self._in["shape"])

    def run(self, window: np.ndarray) -> np.ndarray:
        data = np.asarray(window, dtype=np.float32).reshape(self.input_shape)
        dtype = self._in["dtype"]
        if dtype != np.float32:
            scale, zero = self._in["quantization"]
            # token ids (int32 inputs) are not quantized: scale 0 means "pass the integers through"
            data = quantize(data, scale, zero, dtype) if scale else np.rint(data).astype(dtype)
        self._interp.reset_all_variables()
        self._interp.set_tensor(self._in["index"], data)
        self._interp.invoke()
        out = self._interp.get_tensor(self._out["index"])
        if self._out["dtype"] != np.float32:
            scale, zero = self._out["quantization"]
            return (out.astype(np.float32) - zero) * np.float32(scale)
        return out.copy()

    def op_names(self) -> list[str]:
        """Names of the ops in the model graph (for pre-flight checks and reports)."""
        return sorted({op["op_name"] for op in self._interp._get_ops_details()})

    def close(self) -> None:
        self._interp = None
