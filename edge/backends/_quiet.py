"""Silencing native runtimes' banner lines written straight to file descriptor 2."""

from __future__ import annotations

import contextlib
import os
import sys

__all__ = ["native_stderr_silenced"]


@contextlib.contextmanager
def native_stderr_silenced():
    """Route fd 2 to /dev/null while a native library initialises (e.g. LiteRT's XNNPACK banner).

    Python-level errors are unaffected: they travel as exceptions, not on fd 2.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
