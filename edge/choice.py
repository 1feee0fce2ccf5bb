"""Latency of a bundle's variants measured side by side, and the default-variant rule.

Pure numpy plus the backends, so the device (``edgewatch bench``) and the host
(``edgewatch convert``) measure and choose the same way: among the variants
that stayed within the accuracy budget, take the fastest few (within
``tolerance``, default 25 %, of the fastest: differences that small are
timing noise on a busy device or hardly matter per window), and of those the
smallest file.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.backends import open_backend

__all__ = ["Candidate", "choose_default", "measure_latencies", "DEFAULT_SPEED_TOLERANCE"]

DEFAULT_SPEED_TOLERANCE = 0.25


@dataclass(frozen=True)
class Candidate:
    """One variant as the choice sees it."""

    name: str
    bytes: int
    latency_ms: float
    within_budget: bool


def choose_default(candidates: list[Candidate], tolerance: float = DEFAULT_SPEED_TOLERANCE) -> str | None:
    """The smallest among the fastest variants within budget (``None`` if none is within budget)."""
    eligible = [c for c in candidates if c.within_budget]
    if not eligible:
        return None
    fastest = min(c.latency_ms for c in eligible)
    quick = [c for c in eligible if c.latency_ms <= fastest * (1.0 + tolerance)]
    return min(quick, key=lambda c: (c.bytes, c.latency_ms)).name


def measure_latencies(models: Mapping[str, tuple[str, Path]], inputs: np.ndarray, repeats: int = 300,
                      rounds: int = 10, warmup: int = 10) -> dict[str, dict]:
    """Median and p90 ms per ``Backend.run`` of each ``{name: (format, path)}``, interleaved.

    The variants take turns in ``rounds`` blocks, so a noisy neighbour slows
    them all alike and the ratios stay fair. One thread each, batch 1.
    """
    backends = {name: open_backend(fmt, path) for name, (fmt, path) in models.items()}
    try:
        for backend in backends.values():
            for i in range(warmup):
                backend.run(inputs[i % len(inputs)][None])
        times: dict[str, list[float]] = {name: [] for name in backends}
        per_round = max(1, repeats // rounds)
        for r in range(rounds):
            for name, backend in backends.items():
                for i in range(per_round):
                    window = inputs[(r * per_round + i) % len(inputs)][None]
                    began = time.perf_counter()
                    backend.run(window)
                    times[name].append((time.perf_counter() - began) * 1000.0)
        return {name: {"median_ms": float(np.median(t)), "p90_ms": float(np.percentile(t, 90)), "runs": len(t)}
                for name, t in times.items()}
    finally:
        for backend in backends.values():
            backend.close()
