"""The inference backend interface."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

__all__ = ["Backend"]


class Backend(Protocol):
    """Runs one model on one window at a time.

    ``run`` takes a float32 array shaped like the model input (batch 1) and
    returns the float32 output; a backend quantizes and dequantizes itself for
    integer models, and resets any recurrent state before each window so that
    the same window always gives the same output. ``name`` is the registry key
    (``litert``, ``tflite_runtime``, ``onnxruntime``); ``execution`` says what
    runs it (``cpu``, or onnxruntime's provider such as ``CUDAExecutionProvider``).
    """

    name: str
    execution: str

    def __init__(self, model_path: Path, threads: int = 1) -> None: ...

    def run(self, window: np.ndarray) -> np.ndarray: ...

    def close(self) -> None: ...
