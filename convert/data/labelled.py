"""Labelled sensor or feature windows from one CSV with a label column (classifiers).

Rows are grouped into runs of one label; each run's first 80 % (by default)
gives training windows and its tail the held-out windows, so overlapping
windows never straddle the split. A window never mixes labels.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from calibration.dataset import make_windows
from convert.data.base import Dataset, DataOptions, data_file_info
from edge.csvdata import inspect_csv, read_table
from edge.errors import DataError
from edge.scaler import StandardScaler

__all__ = ["load_labelled_windows", "read_labels"]


def read_labels(path: Path, column: str) -> list[str]:
    layout = inspect_csv(path)
    if column not in layout.header:
        raise DataError(f"{Path(path).name} has no label column {column!r} (found {', '.join(layout.header)}); "
                        "name it with --label-column")
    with Path(path).open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle, delimiter=layout.delimiter)
        next(reader)
        index = layout.header.index(column)
        return [row[index].strip() for row in reader if row]


def _runs(labels: list[str]) -> list[tuple[int, int, str]]:
    runs, start = [], 0
    for i in range(1, len(labels) + 1):
        if i == len(labels) or labels[i] != labels[start]:
            runs.append((start, i, labels[start]))
            start = i
    return runs


def load_labelled_windows(path: Path, options: DataOptions, scaler: StandardScaler | None = None) -> Dataset:
    labels_per_row = read_labels(path, options.label_column)
    layout = inspect_csv(path)
    columns = [c for c in layout.value_columns if c != options.label_column]
    values = read_table(path, columns).values
    names = sorted(set(labels_per_row))
    if len(names) < 2:
        raise DataError(f"{Path(path).name} has {len(names)} label(s) in {options.label_column!r}; need at least 2")
    hop, parts = options.resolved_hop(), {"train": ([], []), "test": ([], [])}
    for start, end, label in _runs(labels_per_row):
        cut = start + int((end - start) * (1.0 - options.holdout_fraction))
        for part, (a, b) in (("train", (start, cut)), ("test", (cut, end))):
            if b - a >= options.window:
                windows = make_windows(values[a:b], options.window, hop)
                parts[part][0].append(windows)
                parts[part][1].extend([names.index(label)] * len(windows))
    if not parts["train"][0] or not parts["test"][0]:
        raise DataError(f"{Path(path).name}: no label run is long enough for windows of {options.window} rows "
                        "in both the training and held-out parts; use a shorter --window or more data")
    x_all, y_all = np.concatenate(parts["train"][0]), np.asarray(parts["train"][1])
    scaler = scaler or StandardScaler.fit(x_all.reshape(-1, x_all.shape[-1]))
    rng = np.random.default_rng(options.seed)
    val = np.zeros(len(x_all), bool)
    val[rng.choice(len(x_all), max(1, int(len(x_all) * options.validation_fraction)), replace=False)] = True
    x_all = scaler.transform(x_all)
    x_test = scaler.transform(np.concatenate(parts["test"][0]))
    meta = {"window": options.window, "hop": hop, "columns": columns, "labels": names,
            "sample_rate": options.sample_rate or read_table(path, columns).sample_rate,
            "scaler": scaler.to_dict(), "data": {**data_file_info(path), "rows": len(values)}}
    return Dataset(x_all[~val], y_all[~val], x_all[val], y_all[val], x_test, np.asarray(parts["test"][1]),
                   y_all[~val], meta)
