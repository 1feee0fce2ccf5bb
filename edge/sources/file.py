"""Replay of a CSV file, as fast as possible or paced at the data's own rate."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from edge.csvdata import inspect_csv, iter_row_chunks
from edge.errors import ConfigError
from edge.sources.base import Chunk

__all__ = ["CsvFileSource"]


class CsvFileSource:
    """Streams the rows of a CSV in the bundle's column order.

    ``rate`` is ``"max"`` (no pacing) or ``"real"``: rows are released at the
    pace of their timestamps, else at ``sample_rate`` rows per second.
    """

    name = "file"

    def __init__(
        self,
        path: Path,
        columns: Sequence[str],
        rate: str = "max",
        sample_rate: float | None = None,
        chunk_rows: int = 64,
    ) -> None:
        if rate not in ("max", "real"):
            raise ConfigError(f"--rate must be 'max' or 'real', got {rate!r}")
        self.spec = f"file:{Path(path).name}"
        self._layout = inspect_csv(Path(path))
        self._layout.indices(columns)  # fail early, with the missing names
        self._columns = tuple(columns)
        self._rate = rate
        self._sample_rate = sample_rate
        self._chunk_rows = chunk_rows
        self._closed = threading.Event()

    def chunks(self) -> Iterator[Chunk]:
        pacer = _Pacer(self._sample_rate) if self._rate == "real" else None
        for values, times, bad in iter_row_chunks(self._layout, self._columns, self._chunk_rows):
            if self._closed.is_set():
                return
            if pacer is not None:
                pacer.wait_for(len(values), times, self._closed)
            yield Chunk(values, times, bad)

    def close(self) -> None:
        self._closed.set()


class _Pacer:
    """Sleeps so that samples leave at the rate their timestamps (or the sample rate) say."""

    def __init__(self, sample_rate: float | None) -> None:
        self._rate = sample_rate
        self._wall0: float | None = None
        self._data0: float | None = None
        self._sent = 0

    def wait_for(self, count: int, times: np.ndarray, stop: threading.Event) -> None:
        now = time.monotonic()
        if self._wall0 is None:
            self._wall0 = now
        last = float(times[-1]) if len(times) else math.nan
        if not math.isnan(last):
            self._data0 = float(times[0]) if self._data0 is None else self._data0
            due = self._wall0 + (last - self._data0)
        elif self._rate:
            due = self._wall0 + (self._sent + count) / self._rate
        else:
            raise ConfigError("--rate real needs timestamps in the CSV or a sample rate in the bundle")
        self._sent += count
        if due > now:
            stop.wait(due - now)
