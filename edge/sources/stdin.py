"""Numeric lines piped into ``edge-infer --source stdin``.

The same :class:`~edge.sources.lines.LineParser` as a serial port in
``format=lines`` (commas, or spaces and tabs; bad lines counted and reported),
fed by whatever the pipe delivers. Each row is stamped with its arrival time.
A pipe gives backpressure, so a slow consumer slows the writer instead of
losing lines; the stream ends at end of file.
"""

from __future__ import annotations

import os
import select
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any, BinaryIO

import numpy as np

from edge.errors import ConfigError
from edge.sources.base import Chunk, StreamRequest
from edge.sources.lines import LineParser

__all__ = ["StdinSource", "open_stdin"]

READ_BYTES = 1 << 16


class StdinSource:
    """Rows parsed from a byte stream (standard input by default)."""

    name = "stdin"
    live = False

    def __init__(self, request: StreamRequest, stream: BinaryIO | None = None) -> None:
        if request.media == "video":
            raise ConfigError("stdin gives numeric lines, but this bundle expects camera frames")
        self.spec = "stdin"
        self._fd = (stream or sys.stdin.buffer).fileno()
        self._parser = LineParser(request.channels)
        self._closed = threading.Event()
        self._lock = threading.Lock()

    def chunks(self) -> Iterator[Chunk]:
        while not self._closed.is_set():
            ready, _, _ = select.select([self._fd], [], [], 0.2)
            if not ready:
                continue
            data = os.read(self._fd, READ_BYTES)
            with self._lock:
                values, bad = self._parser.feed(data if data else b"\n")  # EOF ends an unfinished last line
            if len(values) or bad:
                yield Chunk(values, np.full(len(values), time.time()), bad)
            if not data:
                return

    def close(self) -> None:
        self._closed.set()

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return self._parser.stats()


def open_stdin(arg: str, request: StreamRequest) -> StdinSource:
    """The source for ``stdin`` (no argument)."""
    if arg:
        raise ConfigError(f"stdin takes no argument, got stdin:{arg}")
    return StdinSource(request)
