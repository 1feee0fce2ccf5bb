"""tflite-runtime backend for ``.tflite`` models: the fallback where LiteRT has no wheel.

tflite-runtime 2.14 (its last release) was compiled against numpy 1.x: with
numpy 2 its interpreter fails inside ``CreateWrapperFromFile``. That is checked
before loading, so the user reads the fix instead of numpy's long warning.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import numpy as np

from edge.backends.tflite_interpreter import TFLiteInterpreterBackend
from edge.errors import MissingDependencyError

__all__ = ["TFLiteRuntimeBackend", "probe"]

INSTALL_HINT = "pip install tflite-runtime 'numpy<2'"
LAST_NUMPY1_RELEASE = (2, 14)  # releases up to this one were built against numpy 1.x


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split(".")[:2]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def _interpreter_class() -> type:
    try:
        from tflite_runtime.interpreter import Interpreter
    except ImportError as exc:
        raise MissingDependencyError(f"the tflite-runtime backend needs tflite-runtime: {INSTALL_HINT}") from exc
    version = metadata.version("tflite-runtime")
    if _version_tuple(version) <= LAST_NUMPY1_RELEASE and int(np.__version__.split(".")[0]) >= 2:
        raise MissingDependencyError(
            f"tflite-runtime {version} was built for numpy 1.x and cannot run with numpy {np.__version__}: "
            "pip install 'numpy<2', or use LiteRT (pip install ai-edge-litert)")
    return Interpreter


def probe() -> str:
    """The installed version, after checking it can run here; ``MissingDependencyError`` if not."""
    _interpreter_class()
    return metadata.version("tflite-runtime")


class TFLiteRuntimeBackend(TFLiteInterpreterBackend):
    """Runs a TFLite model with tflite-runtime's interpreter; same contract as LiteRT's."""

    name = "tflite_runtime"
    label = "tflite-runtime"

    def __init__(self, model_path: Path, threads: int = 1) -> None:
        super().__init__(model_path, threads, _interpreter_class())
