"""Do two runtimes (or two models) give the same INT8 outputs on the same INT8 inputs?"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import tempfile

import numpy as np

from edge.backends.litert import quantize
from edge.errors import MissingDependencyError, ModelLoadError
from edge.native_output import native_output_silenced
from firmware_bridge.export.tflm import TflmRunner

__all__ = ["Agreement", "compare_outputs", "litert_int8_outputs", "tflm_int8_outputs", "quantize_windows",
           "synthetic_windows", "compare_litert_models"]


@dataclass(frozen=True)
class Agreement:
    """Differences between two sets of INT8 outputs, in least significant bits (LSB)."""

    windows: int
    max_lsb: int
    fraction_exact: float
    fraction_within_1_lsb: float
    inputs: str

    def to_dict(self) -> dict:
        return asdict(self)


def synthetic_windows(count: int, shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """Standard-normal windows: what scaled sensor data looks like, when no data is at hand."""
    return np.random.default_rng(seed).standard_normal((count, *shape[1:])).astype(np.float32)


def quantize_windows(windows: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """Scaled float windows -> int8 model inputs, rounding and saturating like the firmware example."""
    return quantize(np.asarray(windows, dtype=np.float32), scale, zero_point, np.int8)


def litert_int8_outputs(model_path: Path, inputs: np.ndarray) -> np.ndarray:
    """Raw int8 outputs of LiteRT, resetting the LSTM state before every window."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as exc:
        raise MissingDependencyError("LiteRT is needed: pip install 'ai-edge-litert>=2.3'") from exc
    try:
        with native_output_silenced(2):  # LiteRT's XNNPACK banner
            interp = Interpreter(model_path=str(model_path), num_threads=1)
            interp.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        raise ModelLoadError(f"LiteRT cannot load {Path(model_path).name}: {str(exc).splitlines()[0]}") from exc
    source, sink = interp.get_input_details()[0], interp.get_output_details()[0]
    outputs = []
    for window in inputs:
        interp.reset_all_variables()
        interp.set_tensor(source["index"], window.reshape(source["shape"]))
        interp.invoke()
        outputs.append(interp.get_tensor(sink["index"]).copy())
    return np.stack(outputs)


def tflm_int8_outputs(model: bytes, arena_size: int, inputs: np.ndarray) -> np.ndarray:
    """Raw int8 outputs of TFLite Micro with ``arena_size`` (must be enough: see ``tflm``)."""
    with TflmRunner(model, arena_size) as runner:
        shape = tuple(int(v) for v in runner.input_details()["shape"])
        return np.stack([runner.run(window.reshape(shape)) for window in inputs])


def compare_outputs(first: np.ndarray, second: np.ndarray, inputs: str) -> Agreement:
    """Element-wise differences of two equally shaped int8 output stacks."""
    diff = np.abs(np.asarray(first, dtype=np.int32) - np.asarray(second, dtype=np.int32))
    return Agreement(len(first), int(diff.max(initial=0)), round(float(np.mean(diff == 0)), 6),
                     round(float(np.mean(diff <= 1)), 6), inputs)


def compare_litert_models(reference: Path, candidate: bytes, windows: np.ndarray, label: str) -> Agreement:
    """Two INT8 models under LiteRT on the same inputs, quantized with ``reference``'s input parameters."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as exc:
        raise MissingDependencyError("LiteRT is needed: pip install 'ai-edge-litert>=2.3'") from exc
    scale, zero_point = Interpreter(model_path=str(reference)).get_input_details()[0]["quantization"]
    inputs = quantize_windows(windows, scale, zero_point)[:, None]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "candidate.tflite"
        path.write_bytes(candidate)
        return compare_outputs(litert_int8_outputs(reference, inputs), litert_int8_outputs(path, inputs), label)
