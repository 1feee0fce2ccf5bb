"""The TensorFlow Lite Micro Python interpreter (pip ``tflite-micro``), imported lazily.

TFLite Micro prints its reasons (e.g. ``Didn't find op for builtin opcode
'TILE'``) on file descriptor 2 and raises a bare ``RuntimeError``; the runner
captures that text so the error says why.

Trap: with an arena a little too small, TFLite Micro's LSTM kernel does not
fail cleanly, it dereferences an unallocated tensor and the process dies
(SIGSEGV). Open ``TflmRunner`` only with an arena known to be large enough;
arena trials run in a child process (``firmware_bridge.export.arena``).
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile

import numpy as np

from edge.errors import MissingDependencyError, ModelLoadError

__all__ = ["tflm_runtime", "tflm_version", "TflmRunner", "captured_stderr"]

FIX = "pip install 'edgewatch[firmware]' (the tflite-micro package)"


def tflm_runtime():
    """The ``tflite_micro.runtime`` module; ``MissingDependencyError`` names the fix."""
    try:
        from tflite_micro.python.tflite_micro import runtime
    except ImportError as exc:
        raise MissingDependencyError(f"running models with TFLite Micro needs tflite-micro: {FIX}") from exc
    return runtime


def tflm_version() -> str | None:
    """The installed tflite-micro version, or ``None`` when it is missing."""
    try:
        import tflite_micro
    except ImportError:
        return None
    return str(tflite_micro.__version__)


@contextlib.contextmanager
def captured_stderr():
    """Collect what native code writes on fd 2; the list is filled when the block ends."""
    lines: list[str] = []
    sys.stderr.flush()
    with tempfile.TemporaryFile() as sink:
        saved = os.dup(2)
        os.dup2(sink.fileno(), 2)
        try:
            yield lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            lines.extend(line for line in sink.read().decode("utf-8", "replace").splitlines() if line.strip())


class TflmRunner:
    """Runs an INT8 model window by window in TFLite Micro (a context manager).

    The fused LSTM keeps its state across ``invoke()``; ``run`` resets it before
    every window, as the firmware example does with ``MicroInterpreter::Reset()``.
    """

    def __init__(self, model: bytes, arena_size: int) -> None:
        self._model, self._arena_size, self._interp = bytes(model), int(arena_size), None

    def __enter__(self) -> "TflmRunner":
        runtime = tflm_runtime()
        with captured_stderr() as said:
            try:
                self._interp = runtime.Interpreter.from_bytes(self._model, arena_size=self._arena_size)
            except (RuntimeError, ValueError) as exc:
                failure = exc
            else:
                failure = None
        if failure is not None:
            reason = said[0] if said else str(failure)
            raise ModelLoadError(f"TFLite Micro cannot load the model: {reason}") from failure
        return self

    def __exit__(self, *exc_info) -> None:
        self._interp = None

    def input_details(self) -> dict:
        """TFLite Micro's description of input 0: ``shape``, ``dtype``, ``quantization_parameters``."""
        return self._interp.get_input_details(0)

    def run(self, window: np.ndarray) -> np.ndarray:
        """One quantized window (the input tensor's dtype and shape) in, the raw output tensor out."""
        if self._interp is None:
            raise ModelLoadError("TflmRunner is not open; use it in a with block")
        self._interp.reset()
        self._interp.set_input(np.ascontiguousarray(window), 0)
        self._interp.invoke()
        return np.array(self._interp.get_output(0), copy=True)

    def allocations(self) -> list[str]:
        """TFLite Micro's arena report (``print_allocations``), one line per entry; after a ``run``."""
        with captured_stderr() as said:
            self._interp.print_allocations()
        return [line.replace("[RecordingMicroAllocator] ", "") for line in said]
