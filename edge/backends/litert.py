"""LiteRT (ai-edge-litert) backend for ``.tflite`` models: the first choice for TFLite."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from edge.backends.tflite_interpreter import TFLiteInterpreterBackend, quantize
from edge.errors import MissingDependencyError

__all__ = ["LiteRTBackend", "quantize", "probe"]

INSTALL_HINT = "pip install 'ai-edge-litert>=2.3'"


def _interpreter_class() -> type:
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as exc:
        raise MissingDependencyError(f"the LiteRT backend needs ai-edge-litert: {INSTALL_HINT}") from exc
    return Interpreter


def probe() -> str:
    """The installed version, after checking the interpreter imports; ``MissingDependencyError`` if not."""
    _interpreter_class()
    return metadata.version("ai-edge-litert")


class LiteRTBackend(TFLiteInterpreterBackend):
    """Runs a TFLite model with the LiteRT interpreter (XNNPACK where it applies)."""

    name = "litert"
    label = "LiteRT"

    def __init__(self, model_path: Path, threads: int = 1) -> None:
        super().__init__(model_path, threads, _interpreter_class())
