"""Short frame sequences from an ``.npz`` file (CNN+LSTM): ``frames`` (N, T, H, W, C) and ``labels`` (N,)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from convert.data.base import Dataset, DataOptions, data_file_info, split_indices
from edge.errors import DataError
from edge.scaler import StandardScaler

__all__ = ["load_frames"]


def load_frames(path: Path, options: DataOptions, scaler: StandardScaler | None = None) -> Dataset:
    """Per-channel standardised frames, split at random but stratified by label (no pickle is read)."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            frames, labels = np.asarray(archive["frames"], np.float32), np.asarray(archive["labels"]).astype(str)
    except (OSError, KeyError, ValueError) as exc:
        raise DataError(f"{Path(path).name} is not an .npz with arrays 'frames' (N, T, H, W, C) and 'labels' (N,): "
                        f"{exc}") from exc
    if frames.ndim != 5 or len(frames) != len(labels):
        raise DataError(f"{Path(path).name}: frames must be (N, T, H, W, C) with one label each; "
                        f"got {frames.shape} and {labels.shape}")
    names = sorted(set(labels.tolist()))
    y = np.asarray([names.index(v) for v in labels])
    train, val, test = split_indices(y, (options.holdout_fraction, options.validation_fraction), options.seed)
    scaler = scaler or StandardScaler.fit(frames[train].reshape(-1, frames.shape[-1]))
    x = scaler.transform(frames)
    meta = {"window": int(frames.shape[1]), "hop": 1, "columns": [f"channel{i}" for i in range(frames.shape[-1])],
            "frame_shape": list(frames.shape[2:]), "labels": names, "sample_rate": options.sample_rate,
            "scaler": scaler.to_dict(), "data": {**data_file_info(path), "rows": int(len(frames))}}
    return Dataset(x[train], y[train], x[val], y[val], x[test], y[test], y[train], meta)
