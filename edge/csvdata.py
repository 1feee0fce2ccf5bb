"""Reading multivariate sensor CSVs: header, numeric columns, optional timestamp column.

Used on the host (training, calibration) and on the device (file replay), so
both see the same parsing rules. Strict readers raise ``DataError`` naming the
file, row and column; the streaming reader counts bad rows and goes on.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from edge.errors import DataError

__all__ = ["CsvLayout", "Table", "inspect_csv", "read_table", "iter_row_chunks", "BadRow"]

TIME_COLUMN_NAMES = ("timestamp", "time", "datetime", "date", "ts")


@dataclass(frozen=True)
class CsvLayout:
    """The shape of a CSV file: delimiter, value columns and the timestamp column."""

    path: Path
    delimiter: str
    header: tuple[str, ...]
    time_column: str | None

    @property
    def value_columns(self) -> tuple[str, ...]:
        return tuple(c for c in self.header if c != self.time_column)

    def indices(self, columns: Sequence[str]) -> list[int]:
        """Header positions of ``columns``; a ``DataError`` names any that are missing."""
        missing = [c for c in columns if c not in self.header]
        if missing:
            raise DataError(
                f"{self.path.name} lacks column(s) {', '.join(map(repr, missing))}; "
                f"expected {', '.join(columns)} (found {', '.join(self.header)})"
            )
        return [self.header.index(c) for c in columns]


@dataclass(frozen=True)
class Table:
    """A whole CSV in memory: float32 values ``(rows, channels)`` and optional epoch times."""

    columns: tuple[str, ...]
    values: np.ndarray
    times: np.ndarray | None

    @property
    def sample_rate(self) -> float | None:
        """Samples per second estimated from the timestamps (median spacing)."""
        if self.times is None or len(self.times) < 2:
            return None
        step = float(np.median(np.diff(self.times)))
        return 1.0 / step if step > 0 else None


@dataclass(frozen=True)
class BadRow:
    """A row the streaming reader skipped, and why."""

    line: int
    reason: str


def parse_time(text: str) -> float:
    """Epoch seconds from a number or an ISO-8601 string (naive means UTC)."""
    try:
        return float(text)
    except ValueError:
        pass
    stamp = datetime.fromisoformat(text.strip())
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=timezone.utc)
    return stamp.timestamp()


def inspect_csv(path: Path, time_column: str | None = "auto") -> CsvLayout:
    """Read the header of ``path`` and find its delimiter and timestamp column."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} does not exist or is not a file")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        first = handle.readline()
        second = handle.readline()
    if not first.strip():
        raise DataError(f"{path.name} is empty: expected a header row of column names, then numeric rows")
    delimiter = max(",;\t", key=first.count) if any(d in first for d in ",;\t") else ","
    header = tuple(h.strip() for h in next(csv.reader([first], delimiter=delimiter)))
    if len(set(header)) != len(header) or "" in header:
        raise DataError(f"{path.name}: the header must name every column once (got {', '.join(header)})")
    if time_column == "auto":
        time_column = _guess_time_column(header, second, delimiter)
    elif time_column is not None and time_column not in header:
        raise DataError(f"{path.name} has no timestamp column {time_column!r} (found {', '.join(header)})")
    if not second.strip():
        raise DataError(f"{path.name} has a header but no data rows")
    return CsvLayout(path, delimiter, header, time_column)


def _guess_time_column(header: tuple[str, ...], row: str, delimiter: str) -> str | None:
    for name in header:
        if name.lower() in TIME_COLUMN_NAMES:
            return name
    cells = next(csv.reader([row], delimiter=delimiter), [])
    for name, cell in zip(header, cells):
        try:
            float(cell)
        except ValueError:
            try:
                parse_time(cell)
                return name
            except ValueError:
                continue
    return None


def read_table(path: Path, columns: Sequence[str] | None = None, time_column: str | None = "auto") -> Table:
    """Read a whole CSV strictly: any non-numeric cell is a ``DataError`` naming its line."""
    layout = inspect_csv(path, time_column)
    chosen = tuple(columns) if columns is not None else layout.value_columns
    if not chosen:
        raise DataError(f"{layout.path.name} has no numeric columns besides the timestamp")
    rows: list[np.ndarray] = []
    times: list[float] = []
    for chunk, chunk_times, bad in iter_row_chunks(layout, chosen, chunk_rows=4096):
        if bad:
            raise DataError(f"{layout.path.name} line {bad[0].line}: {bad[0].reason}")
        rows.append(chunk)
        times.extend(chunk_times.tolist())
    values = np.concatenate(rows) if rows else np.empty((0, len(chosen)), np.float32)
    if len(values) == 0:
        raise DataError(f"{layout.path.name} has a header but no data rows")
    has_times = layout.time_column is not None
    return Table(chosen, values, np.asarray(times) if has_times else None)


def iter_row_chunks(
    layout: CsvLayout, columns: Sequence[str], chunk_rows: int = 256
) -> Iterator[tuple[np.ndarray, np.ndarray, list[BadRow]]]:
    """Yield ``(values, times, bad_rows)`` chunks; bad rows are skipped and reported.

    ``times`` are epoch seconds from the timestamp column, NaN where there is none.
    """
    wanted = layout.indices(columns)
    time_index = layout.header.index(layout.time_column) if layout.time_column else None
    values, times, bad = [], [], []
    with layout.path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle, delimiter=layout.delimiter)
        next(reader, None)
        for cells in reader:
            if not cells or all(not c.strip() for c in cells):
                continue
            parsed = _parse_row(cells, wanted, time_index, layout)
            if isinstance(parsed, str):
                bad.append(BadRow(reader.line_num, parsed))
            else:
                values.append(parsed[0])
                times.append(parsed[1])
            if len(values) >= chunk_rows:
                yield np.asarray(values, np.float32), np.asarray(times, np.float64), bad
                values, times, bad = [], [], []
    if values or bad:
        yield np.asarray(values, np.float32).reshape(-1, len(wanted)), np.asarray(times, np.float64), bad


def _parse_row(cells: list[str], wanted: list[int], time_index: int | None, layout: CsvLayout):
    """``(values, time)`` for a good row, or a one-line reason for a bad one."""
    if len(cells) != len(layout.header):
        return f"has {len(cells)} cells, the header has {len(layout.header)}"
    row = []
    for index in wanted:
        try:
            value = float(cells[index])
        except ValueError:
            return f"column {layout.header[index]!r} holds {cells[index][:30]!r}, not a number"
        if not math.isfinite(value):
            return f"column {layout.header[index]!r} holds {cells[index]!r}, not a finite number"
        row.append(value)
    stamp = math.nan
    if time_index is not None:
        try:
            stamp = parse_time(cells[time_index])
        except ValueError:
            return f"timestamp {cells[time_index][:30]!r} is neither a number nor ISO-8601"
    return row, stamp
