"""The source interface: an iterator of numpy chunks."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from edge.csvdata import BadRow

__all__ = ["Chunk", "Source"]


@dataclass(frozen=True)
class Chunk:
    """Consecutive samples from a source.

    Attributes:
        values: float32 ``(n, channels)`` in the bundle's column order.
        times: float64 epoch seconds per sample (NaN where unknown).
        bad_rows: input rows the source skipped while producing this chunk.
    """

    values: np.ndarray
    times: np.ndarray
    bad_rows: list[BadRow] = field(default_factory=list)


class Source(Protocol):
    """Yields chunks until the data ends (or ``close`` is called from another thread)."""

    name: str
    spec: str

    def chunks(self) -> Iterator[Chunk]: ...

    def close(self) -> None: ...
