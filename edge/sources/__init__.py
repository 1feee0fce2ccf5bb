"""Data sources, chosen by the ``--source`` spec (``file:PATH``, ``serial:PORT?baud=...&format=...``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from edge.errors import ConfigError
from edge.sources.base import Chunk, Source

__all__ = ["Chunk", "Source", "open_source"]


def open_source(spec: str, columns: Sequence[str], rate: str = "max", sample_rate: float | None = None) -> Source:
    """Build the source named by ``spec``, checking what it can before streaming starts."""
    kind, _, arg = spec.partition(":")
    if kind == "file" and arg:
        path = Path(arg)
        if path.suffix.lower() not in (".csv", ".txt", ".tsv"):
            raise ConfigError(f"file source {arg!r}: only CSV replay is supported so far (.csv, .tsv, .txt)")
        from edge.sources.file import CsvFileSource

        return CsvFileSource(path, columns, rate=rate, sample_rate=sample_rate)
    if kind == "serial" and arg:
        from edge.sources.serial import open_serial

        return open_serial(arg, columns)  # live: --rate does not apply
    raise ConfigError(f"unknown source {spec!r}; use file:PATH.csv or serial:PORT?baud=115200&format=frames")
