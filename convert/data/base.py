"""The split every loader returns, and the options they share."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edge.bundle import sha256_file

__all__ = ["Dataset", "DataOptions", "data_file_info", "split_indices"]


@dataclass(frozen=True)
class DataOptions:
    """How to cut and split the data (recorded in the sidecar so convert reproduces it).

    Attributes:
        window: rows (or frames, tokens, characters) per model input.
        hop: rows between windows on the device (default ``window // 10``).
        holdout_fraction: share kept out of training for evaluation and calibration.
        validation_fraction: share of the training part used for early stopping.
        horizon: rows a forecaster predicts.
        label_column: the label column of a labelled CSV.
        vocab_size: most words kept by the text classifier's vocabulary.
        seed: the seed of every random split.
        features: ``none`` (CSV rows), or ``logmel`` / ``mfcc`` frames of a WAV recording computed by
            the device's own feature code (sensor families).
    """

    window: int = 60
    hop: int | None = None
    holdout_fraction: float = 0.2
    validation_fraction: float = 0.1
    horizon: int = 1
    label_column: str = "label"
    vocab_size: int = 2000
    seed: int = 0
    sample_rate: float | None = None
    features: str = "none"

    def resolved_hop(self) -> int:
        return self.hop if self.hop else max(1, self.window // 10)


@dataclass(frozen=True)
class Dataset:
    """Inputs ``x`` and targets ``y`` for training, validation and held-out evaluation.

    ``strata`` labels the training inputs for a stratified representative sample
    (class labels, or time segments for unlabelled windows); ``meta`` is what the
    sidecar and the manifest record about the input (columns, scaler, labels, vocabulary ...).
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    strata: np.ndarray
    meta: dict = field(default_factory=dict)


def data_file_info(path: Path) -> dict:
    return {"file": Path(path).name, "sha256": sha256_file(Path(path))}


def split_indices(labels: np.ndarray, fractions: tuple[float, float], seed: int) -> tuple[np.ndarray, ...]:
    """Stratified random split into train / validation / test index arrays (test and validation shares)."""
    rng = np.random.default_rng(seed)
    train, val, test = [], [], []
    for label in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == label))
        n_test = max(1, int(round(len(idx) * fractions[0])))
        n_val = max(1, int(round((len(idx) - n_test) * fractions[1])))
        test.append(idx[:n_test])
        val.append(idx[n_test:n_test + n_val])
        train.append(idx[n_test + n_val:])
    return tuple(np.sort(np.concatenate(part)) for part in (train, val, test))
