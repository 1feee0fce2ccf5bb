"""Inference backends, found by name; each imports its runtime only when chosen.

| backend          | runs    | package                  | preference |
|------------------|---------|--------------------------|------------|
| `litert`         | .tflite | ai-edge-litert           | 1          |
| `tflite_runtime` | .tflite | tflite-runtime (numpy<2) | 2          |
| `onnxruntime`    | .onnx   | onnxruntime(-gpu)        | 3          |
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

from edge.backends.base import Backend
from edge.errors import ConfigError, MissingDependencyError

__all__ = ["Backend", "BackendSpec", "BACKENDS", "PREFERENCE", "BACKENDS_BY_FORMAT", "open_backend",
           "probe_backend"]


@dataclass(frozen=True)
class BackendSpec:
    """Where a backend lives and which model format it runs."""

    name: str
    format: str
    module: str
    class_name: str


BACKENDS = {
    "litert": BackendSpec("litert", "tflite", "edge.backends.litert", "LiteRTBackend"),
    "tflite_runtime": BackendSpec("tflite_runtime", "tflite", "edge.backends.tflite_runtime", "TFLiteRuntimeBackend"),
    "onnxruntime": BackendSpec("onnxruntime", "onnx", "edge.backends.onnxruntime", "OnnxRuntimeBackend"),
}
PREFERENCE = ("litert", "tflite_runtime", "onnxruntime")
BACKENDS_BY_FORMAT = {fmt: tuple(n for n in PREFERENCE if BACKENDS[n].format == fmt) for fmt in ("tflite", "onnx")}


def _spec(name: str) -> BackendSpec:
    if name not in BACKENDS:
        raise ConfigError(f"unknown backend {name!r}; choose one of: {', '.join(PREFERENCE)}")
    return BACKENDS[name]


def probe_backend(name: str) -> str:
    """Version (and for onnxruntime the providers) of an installed backend.

    Raises:
        MissingDependencyError: its package is missing or cannot run here; the message says the fix.
    """
    return importlib.import_module(_spec(name).module).probe()


def open_backend(model_format: str, model_path: Path, name: str | None = None, threads: int = 1) -> Backend:
    """Open the backend ``name`` on ``model_path``, or the first one for ``model_format`` that is installed.

    Raises:
        ConfigError: no backend runs that format, or ``name`` cannot run it.
        MissingDependencyError: the named backend (or every one for the format) is not installed.
        ModelLoadError: the backend cannot load the model.
    """
    choices = BACKENDS_BY_FORMAT.get(model_format)
    if not choices:
        raise ConfigError(f"no backend runs {model_format!r} models (known: {', '.join(BACKENDS_BY_FORMAT)})")
    if name is not None and _spec(name).format != model_format:
        raise ConfigError(f"backend {name!r} cannot run {model_format} models; use one of: {', '.join(choices)}")
    missing = []
    for candidate in ([name] if name else choices):
        spec = BACKENDS[candidate]
        try:
            backend_class = getattr(importlib.import_module(spec.module), spec.class_name)
            return backend_class(model_path, threads)
        except MissingDependencyError as exc:
            if name:
                raise
            missing.append(str(exc))
    raise MissingDependencyError(f"no {model_format} backend is installed: " + "; ".join(missing))
