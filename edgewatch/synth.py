"""Realistic synthetic pump data with labelled, injected anomalies (for the demo and tests)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

__all__ = ["Anomaly", "Recording", "generate", "demo_anomalies", "COLUMNS", "ANOMALY_KINDS"]

COLUMNS = ("temperature", "vibration_rms", "current", "pressure")
ANOMALY_KINDS = ("vibration_surge", "pressure_drop", "cavitation", "overheat")
_START = datetime(2026, 1, 5, 8, 0, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Anomaly:
    kind: str
    start: int  # first row
    end: int  # one past the last row


@dataclass(frozen=True)
class Recording:
    values: np.ndarray  # float32 (rows, 4) in COLUMNS order
    sample_rate: float
    anomalies: tuple[Anomaly, ...]
    start_time: datetime = _START

    def write_csv(self, path: Path) -> Path:
        """Write ``timestamp,temperature,...`` with ISO timestamps at the sample rate."""
        step = timedelta(seconds=1.0 / self.sample_rate)
        with Path(path).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(("timestamp",) + COLUMNS)
            for i, row in enumerate(self.values):
                stamp = (self.start_time + i * step).isoformat(timespec="milliseconds")
                writer.writerow([stamp] + [f"{v:.5f}" for v in row])
        return Path(path)


def generate(
    rows: int, seed: int = 0, anomalies: tuple[Anomaly, ...] = (), sample_rate: float = 10.0, offset: int = 0
) -> Recording:
    """A pump under a varying load: temperature, vibration RMS, motor current, pressure.

    ``offset`` shifts the time axis, so a stream can continue a training recording.
    """
    rng = np.random.default_rng(seed)
    seconds = np.arange(offset, offset + rows, dtype=np.float64) / sample_rate
    load = 0.5 + 0.3 * np.sin(2 * np.pi * seconds / 60.0) + 0.05 * _ar1(rng, rows, 0.98)
    temperature = 40.0 + 2.0 * np.sin(2 * np.pi * seconds / 300.0) + 1.5 * load
    vibration = 0.5 + 0.5 * load
    current = 10.0 + 5.0 * load
    pressure = 3.0 + 2.0 * load
    for anomaly in anomalies:
        span = slice(anomaly.start, anomaly.end)
        if anomaly.kind == "vibration_surge":
            vibration[span] *= 2.5
        elif anomaly.kind == "pressure_drop":
            pressure[span] -= 1.2
        elif anomaly.kind == "cavitation":
            pressure[span] += 0.8 * np.sin(2 * np.pi * 1.0 * seconds[span])
        elif anomaly.kind == "overheat":
            temperature[span] += np.linspace(2.0, 8.0, anomaly.end - anomaly.start)
        else:
            raise ValueError(f"unknown anomaly kind {anomaly.kind!r}")
    noise = rng.standard_normal((rows, 4)) * np.array([0.05, 0.02, 0.1, 0.05])
    values = np.stack([temperature, vibration, current, pressure], axis=1) + noise
    return Recording(values.astype(np.float32), sample_rate, tuple(anomalies),
                     _START + timedelta(seconds=offset / sample_rate))


def _ar1(rng: np.random.Generator, rows: int, phi: float) -> np.ndarray:
    noise = rng.standard_normal(rows) * np.sqrt(1 - phi * phi)
    out = np.empty(rows)
    out[0] = noise[0]
    for i in range(1, rows):
        out[i] = phi * out[i - 1] + noise[i]
    return out


def demo_anomalies(rows: int) -> tuple[Anomaly, ...]:
    """Four anomalies spread evenly over a stream of ``rows`` rows, normal stretches between them."""
    gap = rows // (len(ANOMALY_KINDS) + 1)
    lengths = {"vibration_surge": 60, "pressure_drop": 100, "cavitation": 120, "overheat": 150}
    return tuple(Anomaly(kind, gap * (i + 1), gap * (i + 1) + lengths[kind]) for i, kind in enumerate(ANOMALY_KINDS))
