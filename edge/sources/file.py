"""``file:PATH`` replays: CSV here; WAV and video through the microphone's and the camera's own code.

Every replay runs at ``--rate max`` (as fast as the consumer takes it) or
``real`` (paced at the recorded rate).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from edge.csvdata import inspect_csv, iter_row_chunks
from edge.errors import ConfigError
from edge.sources.base import Chunk, Source, StreamRequest
from edge.sources.pacing import Pacer

__all__ = ["CsvFileSource", "CSV_SUFFIXES", "open_file"]

CSV_SUFFIXES = (".csv", ".tsv", ".txt")


class CsvFileSource:
    """Streams the rows of a CSV in the bundle's column order.

    ``rate`` is ``"max"`` (no pacing) or ``"real"``: rows are released at the
    pace of their timestamps, else at ``sample_rate`` rows per second.
    """

    name = "file"
    live = False

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
        pacer = Pacer() if self._rate == "real" else None
        sent = 0
        for values, times, bad in iter_row_chunks(self._layout, self._columns, self._chunk_rows):
            if self._closed.is_set():
                return
            if pacer is not None:
                self._pace(pacer, sent, len(values), times)
            sent += len(values)
            yield Chunk(values, times, bad)

    def _pace(self, pacer: Pacer, sent: int, count: int, times) -> None:
        last = float(times[-1]) if len(times) else math.nan
        if not math.isnan(last):
            pacer.wait_until(last, self._closed, origin=float(times[0]))
        elif self._sample_rate:
            pacer.wait_until((sent + count) / self._sample_rate, self._closed, origin=0.0)
        else:
            raise ConfigError("--rate real needs timestamps in the CSV or a sample rate in the bundle")

    def close(self) -> None:
        self._closed.set()


def open_file(arg: str, request: StreamRequest) -> Source:
    """``file:PATH``: a CSV, a WAV or a video, each through the code path of its live counterpart."""
    path = Path(arg)
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        if request.media == "video":
            raise ConfigError(f"{path.name} holds rows, but this bundle expects camera frames; replay a video file")
        return CsvFileSource(path, request.columns, rate=request.pace, sample_rate=request.sample_rate)
    from edge.sources.wav import WAV_SUFFIXES

    if suffix in WAV_SUFFIXES:
        from edge.sources.wav import WavFileSource

        return WavFileSource(path, request)
    from edge.sources.camera import VIDEO_SUFFIXES, CameraOptions, CameraSource

    if suffix in VIDEO_SUFFIXES:
        if not path.is_file():
            raise ConfigError(f"file source: {path} does not exist")
        return CameraSource(CameraOptions(str(path), live=False), request)
    known = ", ".join(CSV_SUFFIXES + WAV_SUFFIXES + VIDEO_SUFFIXES)
    raise ConfigError(f"file source {arg!r}: unknown file type {suffix or '(none)'}; replayable: {known}")
