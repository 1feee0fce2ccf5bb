"""The source interface: an iterator of numpy chunks, and what the model asks of a source."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from edge.csvdata import BadRow
from edge.errors import ConfigError

__all__ = ["Chunk", "Source", "StreamRequest", "PACES"]

PACES = ("max", "real")


@dataclass(frozen=True)
class Chunk:
    """Consecutive samples from a source.

    Attributes:
        values: float32 ``(n, channels)`` in the bundle's column order, or for video
            sources ``uint8`` frames ``(n, height, width, 3)`` (BGR).
        times: float64 epoch seconds per sample (NaN where unknown).
        bad_rows: input rows the source skipped while producing this chunk.
        gap: samples known to be lost just before this chunk (device queue overflow,
            reconnect); the pipeline restarts its features and windows after a gap.
    """

    values: np.ndarray
    times: np.ndarray
    bad_rows: list[BadRow] = field(default_factory=list)
    gap: int = 0


@dataclass(frozen=True)
class StreamRequest:
    """What the bundle needs from a source.

    Attributes:
        columns: raw columns, in order (one per channel).
        sample_rate: samples (or video frames) per second the features or the model expect;
            None when the bundle does not know.
        media: ``rows`` (numeric rows), ``audio`` (a waveform for log-mel/MFCC) or ``video`` (frames).
        pace: file replays: ``max`` (as fast as possible) or ``real`` (at the recorded rate).
    """

    columns: tuple[str, ...]
    sample_rate: float | None = None
    media: str = "rows"
    pace: str = "max"

    def __post_init__(self) -> None:
        if self.pace not in PACES:
            raise ConfigError(f"--rate must be 'max' or 'real', got {self.pace!r}")

    @property
    def channels(self) -> int:
        return len(self.columns)


class Source(Protocol):
    """Yields chunks until the data ends (or ``close`` is called from another thread).

    ``live`` sources (devices) are never blocked by a slow consumer: the pipeline
    drops and counts their chunks when its queue is full. Replays (files, stdin)
    are paced by the consumer instead and lose nothing. A source may offer
    ``stats() -> dict`` (any thread) for the status message.
    """

    name: str
    spec: str
    live: bool

    def chunks(self) -> Iterator[Chunk]: ...

    def close(self) -> None: ...
