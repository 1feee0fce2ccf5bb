"""Silencing native libraries' banner lines written straight to file descriptors 1 and 2."""

from __future__ import annotations

import contextlib
import os
import sys

__all__ = ["native_output_silenced"]


@contextlib.contextmanager
def native_output_silenced(*fds: int):
    """Route ``fds`` (default: 2) to /dev/null while a native library talks.

    For banners such as LiteRT's "Created TensorFlow Lite XNNPACK delegate" or
    TensorFlow's CUDA probing at import. Python-level errors are unaffected:
    they travel as exceptions, not on these descriptors.
    """
    fds = fds or (2,)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        saved = [os.dup(fd) for fd in fds]
    except (OSError, ValueError):
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        for fd in fds:
            os.dup2(devnull, fd)
        yield
    finally:
        for fd, copy in zip(fds, saved):
            os.dup2(copy, fd)
            os.close(copy)
        os.close(devnull)
