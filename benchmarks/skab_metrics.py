"""SKAB's outlier metrics, the published leaderboard, and a check that both agree.

SKAB (Skoltech Anomaly Benchmark, github:waico/SKAB, GPL-3.0) scores outlier
detectors per row, pooled over the test rows of all 34 experiments
(``core/metrics.py``, metric ``"binary"``)::

    F1  = TP / (TP + (FN + FP) / 2)
    FAR = FP / (FP + TN) * 100      false alarm rate, %
    MAR = FN / (FN + TP) * 100      missing alarm rate, %

The dataset is read from where it lives (``../shared/datasets/skab`` beside
the checkout, or ``--skab DIR``), never copied into this repository.
``reference_predictions/skab_test_predictions.csv`` there holds the
leaderboard's own per-row predictions; :func:`check_leaderboard` feeds them
through :func:`binary_counts` and compares with the published figures.

Event-level figures (:func:`event_scores`) are ours, not SKAB's: an anomaly
segment is detected when a predicted row falls inside it; a predicted event
(a run of predicted rows) is a true alarm when it overlaps a segment; the
delay is the rows from the segment's first row to its first predicted row.

    .venv/bin/python benchmarks/skab_metrics.py [--skab DIR]
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "LEADERBOARD", "REFERENCE_COLUMNS", "BinaryCounts", "EventScores", "SkabFile",
    "default_skab_dir", "require_skab_dir", "binary_counts", "pooled", "runs", "event_scores",
    "read_reference", "reference_counts", "check_leaderboard", "skab_files", "read_skab_csv",
]

REFERENCE_CSV = Path("reference_predictions") / "skab_test_predictions.csv"
TRAIN_ROWS = 400  # SKAB: train_test_split(train_size=400, shuffle=False) per file

# SKAB README, outlier detection table (F1, FAR %, MAR %), as reproduced by its saved predictions
# at commit b2c0d46 (see NOTES.md beside the data). MSCRED's README figures are 0.36 / 49.94 / 69.88;
# its saved predictions give 0.36 / 49.72 / 70.04, so the reproduced values are listed and checked.
LEADERBOARD: dict[str, tuple[float, float, float]] = {
    "Conv-AE": (0.78, 13.55, 28.02),
    "MSET": (0.78, 39.73, 14.13),
    "T-squared+Q (PCA)": (0.76, 26.62, 24.92),
    "LSTM-AE": (0.74, 29.96, 25.92),
    "T-squared": (0.66, 19.21, 42.60),
    "Vanilla LSTM": (0.54, 12.54, 59.53),
    "Vanilla AE": (0.39, 2.59, 75.15),
    "MSCRED": (0.36, 49.72, 70.04),
    "Isolation forest": (0.29, 2.56, 82.89),
}
# leaderboard name -> column of the reference predictions CSV
REFERENCE_COLUMNS = {
    "Conv-AE": "Conv_AE", "MSET": "MSET", "T-squared+Q (PCA)": "T2-q", "LSTM-AE": "LSTM_AE",
    "T-squared": "T2", "Vanilla LSTM": "Vanilla_LSTM", "Vanilla AE": "Vanilla_AE", "MSCRED": "MSCRED",
    "Isolation forest": "Isolation_Forest",
}


@dataclass(frozen=True)
class BinaryCounts:
    """Confusion counts of per-row predictions; add them to pool files."""

    tp: int = 0
    tn: int = 0
    fp: int = 0
    fn: int = 0

    def __add__(self, other: "BinaryCounts") -> "BinaryCounts":
        return BinaryCounts(self.tp + other.tp, self.tn + other.tn, self.fp + other.fp, self.fn + other.fn)

    @property
    def rows(self) -> int:
        return self.tp + self.tn + self.fp + self.fn

    @property
    def f1(self) -> float:
        """SKAB's F1: TP / (TP + (FN + FP) / 2) (0 when there is nothing to find or flag)."""
        denominator = self.tp + (self.fn + self.fp) / 2
        return self.tp / denominator if denominator else 0.0

    @property
    def far(self) -> float:
        """False alarm rate in %: FP / (FP + TN) * 100."""
        return 100.0 * self.fp / (self.fp + self.tn) if self.fp + self.tn else 0.0

    @property
    def mar(self) -> float:
        """Missing alarm rate in %: FN / (FN + TP) * 100."""
        return 100.0 * self.fn / (self.fn + self.tp) if self.fn + self.tp else 0.0

    def rounded(self) -> tuple[float, float, float]:
        """(F1, FAR, MAR) rounded as SKAB prints them: 2 decimals."""
        return round(self.f1, 2), round(self.far, 2), round(self.mar, 2)

    def line(self) -> str:
        return f"F1 {self.f1:.3f}  FAR {self.far:5.2f} %  MAR {self.mar:5.2f} %"


def binary_counts(true: Iterable, predicted: Iterable) -> BinaryCounts:
    """Per-row confusion counts of 0/1 labels against 0/1 predictions (same length)."""
    t = np.asarray(true, dtype=np.float64) == 1
    p = np.asarray(predicted, dtype=np.float64) == 1
    if t.shape != p.shape:
        raise ValueError(f"labels {t.shape} and predictions {p.shape} differ in shape")
    return BinaryCounts(int((t & p).sum()), int((~t & ~p).sum()), int((~t & p).sum()), int((t & ~p).sum()))


def pooled(pairs: Iterable[tuple[Iterable, Iterable]]) -> BinaryCounts:
    """Counts pooled over files: ``pairs`` of (labels, predictions), SKAB's way of averaging."""
    total = BinaryCounts()
    for true, predicted in pairs:
        total = total + binary_counts(true, predicted)
    return total


# -- event level ------------------------------------------------------------------------


def runs(flags: Iterable) -> list[tuple[int, int]]:
    """``[start, end)`` of every run of ones in a 0/1 sequence."""
    f = np.concatenate([[0], (np.asarray(flags, dtype=np.float64) == 1).astype(np.int8), [0]])
    edges = np.flatnonzero(np.diff(f))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]


@dataclass(frozen=True)
class EventScores:
    """Event-level view, pooled over files.

    Attributes:
        segments: true anomaly segments; detected: those with a predicted row inside.
        alarms: predicted events (runs of predicted rows); true_alarms: those overlapping a segment.
        delays: rows from each detected segment's first row to its first predicted row.
    """

    segments: int = 0
    detected: int = 0
    alarms: int = 0
    true_alarms: int = 0
    delays: tuple[int, ...] = ()

    def __add__(self, other: "EventScores") -> "EventScores":
        return EventScores(self.segments + other.segments, self.detected + other.detected,
                           self.alarms + other.alarms, self.true_alarms + other.true_alarms,
                           self.delays + other.delays)

    @property
    def recall(self) -> float:
        return self.detected / self.segments if self.segments else 0.0

    @property
    def precision(self) -> float:
        return self.true_alarms / self.alarms if self.alarms else 0.0

    def line(self, seconds_per_row: float = 1.0) -> str:
        d = np.asarray(self.delays, dtype=np.float64) * seconds_per_row
        delay = (f"delay median {np.median(d):.0f} s, p90 {np.percentile(d, 90):.0f} s"
                 if len(d) else "no detection")
        return (f"events: recall {self.detected}/{self.segments} = {self.recall:.2f}, "
                f"precision {self.true_alarms}/{self.alarms} = {self.precision:.2f}, {delay}")


def event_scores(true: Iterable, predicted: Iterable) -> EventScores:
    """Segment recall, alarm precision and detection delay of one file's per-row predictions."""
    t = np.asarray(true, dtype=np.float64) == 1
    p = np.asarray(predicted, dtype=np.float64) == 1
    segments, alarms = runs(t), runs(p)
    delays = []
    for a, b in segments:
        hits = np.flatnonzero(p[a:b])
        if len(hits):
            delays.append(int(hits[0]))
    true_alarms = sum(1 for a, b in alarms if t[a:b].any())
    return EventScores(len(segments), len(delays), len(alarms), true_alarms, tuple(delays))


# -- the dataset -----------------------------------------------------------------------


def default_skab_dir() -> Path:
    """``../shared/datasets/skab`` relative to the checkout (this file is ``benchmarks/skab_metrics.py``)."""
    return Path(__file__).resolve().parents[2] / "shared" / "datasets" / "skab"


def require_skab_dir(path: Path | None = None) -> Path:
    """The SKAB directory, or ``FileNotFoundError`` saying where it was looked for and how to point at it."""
    root = Path(path) if path is not None else default_skab_dir()
    if not (root / "data").is_dir() or not (root / REFERENCE_CSV).is_file():
        raise FileNotFoundError(
            f"SKAB not found at {root} (need data/ and {REFERENCE_CSV}); it is GPL-3.0 and lives outside the "
            "repository: put the extracted copy at ../shared/datasets/skab beside the checkout or pass --skab DIR"
        )
    return root


@dataclass(frozen=True)
class SkabFile:
    """One SKAB CSV: ``name`` like ``valve1/0.csv``, float values (rows, 8), 0/1 labels, epoch seconds."""

    name: str
    columns: tuple[str, ...]
    values: np.ndarray
    anomaly: np.ndarray | None
    changepoint: np.ndarray | None
    times: np.ndarray

    @property
    def group(self) -> str:
        return self.name.split("/")[0]


def read_skab_csv(path: Path, name: str | None = None) -> SkabFile:
    """Read a ``;``-separated SKAB file (``datetime``, 8 sensors, optional ``anomaly``/``changepoint``)."""
    with Path(path).open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle, delimiter=";"))
    header, body = rows[0], [r for r in rows[1:] if r]
    labels = [c for c in ("anomaly", "changepoint") if c in header]
    sensors = tuple(c for c in header if c != "datetime" and c not in labels)
    index = {c: header.index(c) for c in header}
    values = np.array([[float(r[index[c]]) for c in sensors] for r in body], dtype=np.float64)

    def column(name: str) -> np.ndarray | None:
        return np.array([float(r[index[name]]) for r in body]).astype(np.int8) if name in index else None

    times = np.array([np.datetime64(r[index["datetime"]].replace(" ", "T"), "s").astype(np.int64) for r in body],
                     dtype=np.float64)
    return SkabFile(name or Path(path).name, sensors, values, column("anomaly"), column("changepoint"), times)


def skab_files(root: Path) -> list[SkabFile]:
    """The 34 labelled experiments (valve1, valve2, other), in a stable order."""
    found = []
    for group in ("valve1", "valve2", "other"):
        paths = sorted((Path(root) / "data" / group).glob("*.csv"), key=lambda p: int(p.stem))
        found.extend(read_skab_csv(p, f"{group}/{p.name}") for p in paths)
    return found


# -- the reference predictions ----------------------------------------------------------


def read_reference(root: Path) -> tuple[list[str], dict[str, list[str]]]:
    """Columns of ``skab_test_predictions.csv``: the header and each column as strings."""
    with (Path(root) / REFERENCE_CSV).open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        columns: dict[str, list[str]] = {c: [] for c in header}
        for row in reader:
            for c, v in zip(header, row):
                columns[c].append(v)
    return header, columns


def reference_counts(root: Path) -> dict[str, BinaryCounts]:
    """Pooled counts of every algorithm's saved predictions (rows it left empty are skipped, as SKAB's
    shorter outputs were)."""
    header, columns = read_reference(root)
    truth = np.array(columns["anomaly"], dtype=np.float64)
    counts = {}
    for name in header[4:]:
        raw = np.array(columns[name])
        present = raw != ""
        counts[name] = binary_counts(truth[present], raw[present].astype(np.float64))
    return counts


@dataclass(frozen=True)
class LeaderboardCheck:
    name: str
    published: tuple[float, float, float]
    reproduced: tuple[float, float, float]
    rows: int

    @property
    def ok(self) -> bool:
        return all(abs(a - b) <= 0.005 + 1e-9 for a, b in zip(self.published, self.reproduced))


def check_leaderboard(root: Path) -> list[LeaderboardCheck]:
    """Each leaderboard entry next to what :func:`binary_counts` makes of its saved predictions."""
    counts = reference_counts(root)
    return [LeaderboardCheck(name, published, counts[REFERENCE_COLUMNS[name]].rounded(),
                             counts[REFERENCE_COLUMNS[name]].rows)
            for name, published in LEADERBOARD.items()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check SKAB's metrics against its published leaderboard.")
    parser.add_argument("--skab", type=Path, default=None, help="SKAB directory (default ../shared/datasets/skab)")
    args = parser.parse_args(argv)
    try:
        root = require_skab_dir(args.skab)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    checks = check_leaderboard(root)
    print(f"{'algorithm':<20} {'published F1/FAR/MAR':>24} {'from saved predictions':>24}  rows")
    for c in checks:
        fmt = lambda v: f"{v[0]:.2f} / {v[1]:5.2f} / {v[2]:5.2f}"  # noqa: E731
        print(f"{c.name:<20} {fmt(c.published):>24} {fmt(c.reproduced):>24}  {c.rows}  {'ok' if c.ok else 'MISMATCH'}")
    return 0 if all(c.ok for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
