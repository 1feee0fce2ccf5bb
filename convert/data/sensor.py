"""Unlabelled sensor windows (autoencoder, forecaster): time split, scaler fitted on the training rows.

The rows are a CSV's, or the log-mel / MFCC frames of a WAV recording (``options.features``),
computed by the same code ``edge-infer`` runs on the device.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from calibration.dataset import make_windows
from convert.data.base import Dataset, DataOptions, data_file_info
from convert.recordings import feature_spec_named, read_training_table, table_rate
from edge.features import NoFeatures
from edge.errors import DataError
from edge.scaler import StandardScaler

__all__ = ["load_sensor_windows"]


def load_sensor_windows(path: Path, options: DataOptions, forecast: bool = False,
                        scaler: StandardScaler | None = None) -> Dataset:
    """Windows of the head (training, its last part validation) and of the held-out tail (hop 1).

    For a forecaster each device window is ``window + horizon`` rows: the model
    sees the first ``window`` and predicts the rest.
    """
    features = feature_spec_named(options.features)
    table = read_training_table(path, features)
    rows = len(table.values)
    n_train = int(rows * (1.0 - options.holdout_fraction))
    span = options.window + (options.horizon if forecast else 0)
    if n_train < span * 4 or rows - n_train < span:
        raise DataError(f"{Path(path).name} has {rows} rows: too few for windows of {span} with a "
                        f"{options.holdout_fraction:.0%} held-out tail (need about {span * 6} rows)")
    hop = options.resolved_hop()
    scaler = scaler or StandardScaler.fit(table.values[:n_train])
    windows = make_windows(scaler.transform(table.values[:n_train]), span, hop)
    held_out = make_windows(scaler.transform(table.values[n_train:]), span, 1)
    n_val = max(1, int(len(windows) * options.validation_fraction))
    split = lambda w: (w[:, :options.window], w[:, options.window:]) if forecast else (w, w)  # noqa: E731
    (x_train, y_train), (x_val, y_val) = split(windows[:-n_val]), split(windows[-n_val:])
    x_test, y_test = split(held_out)
    segments = np.minimum(np.arange(len(x_train)) * 10 // max(1, len(x_train)), 9)  # ten stretches of time
    meta = {
        "window": span, "hop": hop, "columns": list(table.columns),
        "sample_rate": options.sample_rate or table_rate(table, features), "scaler": scaler.to_dict(),
        "data": {**data_file_info(path), "rows": rows, "train_rows": [0, n_train], "holdout_rows": [n_train, rows]},
    }
    if not isinstance(features, NoFeatures):
        meta["features"] = features.to_dict()
    return Dataset(x_train, y_train, x_val, y_val, x_test, y_test, segments, meta)
