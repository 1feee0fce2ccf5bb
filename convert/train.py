"""Training the LSTM autoencoder on a normal-operation CSV.

The rows are split in time: the head trains the model (its last part is the
validation split for early stopping), the tail is held out so calibration can
choose the threshold on normal data the model never saw. The split, scaler,
window and score spec travel in a JSON sidecar next to the ``.keras`` file.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from calibration.dataset import make_windows
from calibration.drift import SCORE_CHOICES, score_spec_for
from convert import _deps
from convert.autoencoder import FAMILY, AutoencoderSpec, build_autoencoder, member_targets, members_view
from convert.recordings import feature_spec_named, read_training_table, table_rate
from edge.bundle import sha256_file
from edge.errors import ConfigError, DataError
from edge.features import NoFeatures
from edge.scaler import StandardScaler

__all__ = ["TrainConfig", "TrainResult", "train_autoencoder", "sidecar_path", "read_sidecar"]

EpochCallback = Callable[[int, int, dict], None]
MAX_MEMBERS = 16  # the device pays one autoencoder's compute per member


@dataclass(frozen=True)
class TrainConfig:
    """Training settings; defaults suit a few thousand rows of 1-100 Hz sensor data."""

    window: int = 60
    hop: int | None = None  # runtime hop; default window // 10
    units: int = 32
    members: int = 1  # autoencoders averaged in one model (an ensemble; see convert.autoencoder)
    epochs: int = 50
    batch_size: int = 64
    patience: int = 5
    validation_fraction: float = 0.1
    holdout_fraction: float = 0.2
    learning_rate: float = 5e-3
    seed: int = 0
    sample_rate: float | None = None
    score: str = "mse"  # a key of calibration.drift.SCORE_CHOICES
    features: str = "none"  # none | logmel | mfcc (the WAV recording's frames, default parameters)

    def resolved_hop(self) -> int:
        return self.hop if self.hop else max(1, self.window // 10)

    def check(self) -> None:
        if self.window < 2:
            raise ConfigError(f"--window must be at least 2, got {self.window}")
        if not 0.0 < self.holdout_fraction < 0.9 or not 0.0 < self.validation_fraction < 0.5:
            raise ConfigError("holdout fraction must be in (0, 0.9) and validation fraction in (0, 0.5)")
        if self.epochs < 1 or self.units < 1 or self.batch_size < 1:
            raise ConfigError("epochs, units and batch size must be >= 1")
        if not 1 <= self.members <= MAX_MEMBERS:
            raise ConfigError(f"--members must be between 1 and {MAX_MEMBERS}, got {self.members}")
        if self.score not in SCORE_CHOICES:
            raise ConfigError(f"--score must be one of {', '.join(SCORE_CHOICES)}, got {self.score!r}")


@dataclass(frozen=True)
class TrainResult:
    model_path: Path
    sidecar: dict
    epochs_run: int
    final_loss: float
    best_val_loss: float


def sidecar_path(model_path: Path) -> Path:
    """``model.keras`` -> ``model.edgewatch.json``."""
    return Path(model_path).with_suffix(".edgewatch.json")


def read_sidecar(model_path: Path) -> dict | None:
    path = sidecar_path(model_path)
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def train_autoencoder(
    data_path: Path, out: Path, config: TrainConfig, on_epoch: EpochCallback | None = None
) -> TrainResult:
    """Fit the autoencoder on ``data_path``, save it to ``out`` with its sidecar."""
    config.check()
    features = feature_spec_named(config.features)
    table = read_training_table(data_path, features)
    n_train = int(len(table.values) * (1.0 - config.holdout_fraction))
    if n_train < config.window * 4 or len(table.values) - n_train < config.window:
        raise DataError(
            f"{Path(data_path).name} has {len(table.values)} rows: too few for windows of {config.window} "
            f"with a {config.holdout_fraction:.0%} calibration tail (need about {config.window * 6} rows)"
        )
    hop = config.resolved_hop()
    scaler = StandardScaler.fit(table.values[:n_train])
    score = score_spec_for(config.score, table.values[:n_train])
    windows = make_windows(scaler.transform(table.values[:n_train]), config.window, hop)
    n_val = max(1, int(len(windows) * config.validation_fraction))
    keras = _deps.keras()
    keras.utils.set_random_seed(config.seed)
    spec = AutoencoderSpec(config.window, len(table.columns), config.units, config.members)
    model = build_autoencoder(keras, spec)
    fitted = members_view(keras, model, spec)
    fitted.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss="mse")
    callbacks = [keras.callbacks.EarlyStopping(patience=config.patience, restore_best_weights=True)]
    if on_epoch is not None:
        callbacks.append(_epoch_reporter(keras, config.epochs, on_epoch))
    train, val = windows[:-n_val], windows[-n_val:]
    history = fitted.fit(
        train, member_targets(train, spec), validation_data=(val, member_targets(val, spec)),
        epochs=config.epochs, batch_size=config.batch_size, shuffle=True, verbose=0, callbacks=callbacks,
    )
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    model.save(out)
    sidecar = _sidecar(data_path, table, spec, scaler, hop, n_train, config)
    sidecar["score"] = score.to_dict()
    if not isinstance(features, NoFeatures):
        sidecar["features"] = features.to_dict()
        sidecar["sample_rate"] = features.frame_rate
    sidecar_path(out).write_text(json.dumps(sidecar, indent=2), encoding="utf-8")
    losses = history.history
    return TrainResult(out, sidecar, len(losses["loss"]), float(losses["loss"][-1]), float(np.min(losses["val_loss"])))


def _epoch_reporter(keras, total: int, on_epoch: EpochCallback):
    class EpochReporter(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            on_epoch(epoch + 1, total, dict(logs or {}))

    return EpochReporter()


def _sidecar(data_path, table, spec, scaler, hop, n_train, config) -> dict:
    sample_rate = config.sample_rate or table_rate(table, feature_spec_named(config.features))
    return {
        "family": FAMILY,
        "architecture": spec.to_dict(),
        "window": spec.window,
        "hop": hop,
        "columns": list(table.columns),
        "sample_rate": sample_rate,
        "scaler": scaler.to_dict(),
        "data": {
            "file": Path(data_path).name,
            "sha256": sha256_file(Path(data_path)),
            "rows": int(len(table.values)),
            "train_rows": [0, n_train],
            "holdout_rows": [n_train, int(len(table.values))],
        },
        "training": asdict(config),
    }
