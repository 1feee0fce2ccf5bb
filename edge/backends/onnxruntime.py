"""onnxruntime backend for ``.onnx`` models, on the best execution provider present.

On a Jetson with onnxruntime-gpu, TensorRT (engines cached under
``$XDG_CACHE_HOME/edgewatch/tensorrt`` so only the first start pays for the
build) or CUDA is used; elsewhere the CPU provider.
"""

from __future__ import annotations

import os
from importlib import metadata
from pathlib import Path

import numpy as np

from edge.errors import MissingDependencyError, ModelLoadError

__all__ = ["OnnxRuntimeBackend", "choose_providers", "probe"]

INSTALL_HINT = "pip install onnxruntime (on a Jetson: NVIDIA's onnxruntime-gpu wheel for your JetPack)"
PREFERRED_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")


def _ort():
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise MissingDependencyError(f"the onnxruntime backend needs onnxruntime: {INSTALL_HINT}") from exc
    return ort


def probe() -> str:
    """Version and usable providers, e.g. ``1.32.0 [CPUExecutionProvider]``."""
    ort = _ort()
    return f"{metadata.version(_distribution())} [{', '.join(choose_providers(ort.get_available_providers()))}]"


def _distribution() -> str:
    for name in ("onnxruntime", "onnxruntime-gpu"):
        try:
            metadata.version(name)
            return name
        except metadata.PackageNotFoundError:
            continue
    return "onnxruntime"


def choose_providers(available: list[str]) -> list[str]:
    """TensorRT, then CUDA, then CPU, keeping those present; CPU is always last."""
    chosen = [p for p in PREFERRED_PROVIDERS if p in available and p != "CPUExecutionProvider"]
    return chosen + ["CPUExecutionProvider"]


def _provider_options(provider: str) -> dict:
    if provider != "TensorrtExecutionProvider":
        return {}
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "edgewatch" / "tensorrt"
    cache.mkdir(parents=True, exist_ok=True)
    return {"trt_engine_cache_enable": True, "trt_engine_cache_path": str(cache)}


class OnnxRuntimeBackend:
    """Runs an ONNX model on onnxruntime, one window per call.

    ``execution`` names the provider that actually runs it (onnxruntime falls
    back to the next one when a provider fails to initialise).
    """

    name = "onnxruntime"
    label = "onnxruntime"

    def __init__(self, model_path: Path, threads: int = 1) -> None:
        ort = _ort()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        providers = choose_providers(ort.get_available_providers())
        try:
            self._session = ort.InferenceSession(
                str(model_path), options, providers=[(p, _provider_options(p)) for p in providers])
        except Exception as exc:  # onnxruntime raises its own untyped errors
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelLoadError(f"onnxruntime cannot load {Path(model_path).name}: {reason}") from exc
        self.execution = self._session.get_providers()[0]
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
