"""Inference backends, found by name; each imports its runtime only when chosen."""

from __future__ import annotations

from pathlib import Path

from edge.backends.base import Backend
from edge.errors import ConfigError

__all__ = ["Backend", "BACKENDS_BY_FORMAT", "open_backend"]

BACKENDS_BY_FORMAT = {"tflite": ("litert",), "onnx": ("onnxruntime",)}


def open_backend(model_format: str, model_path: Path, name: str | None = None, threads: int = 1) -> Backend:
    """Open the backend ``name`` (or the first one for ``model_format``) on ``model_path``."""
    choices = BACKENDS_BY_FORMAT.get(model_format)
    if not choices:
        raise ConfigError(f"no backend runs {model_format!r} models (known: {', '.join(BACKENDS_BY_FORMAT)})")
    name = name or choices[0]
    if name not in choices:
        raise ConfigError(f"backend {name!r} cannot run {model_format} models; use one of: {', '.join(choices)}")
    if name == "litert":
        from edge.backends.litert import LiteRTBackend

        return LiteRTBackend(model_path, threads)
    from edge.backends.onnxruntime import OnnxRuntimeBackend

    return OnnxRuntimeBackend(model_path, threads)
