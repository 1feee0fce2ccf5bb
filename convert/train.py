"""Training any family on its data: seeded, early-stopped, reported per epoch, saved with a sidecar.

The data loader splits the data (training, validation for early stopping, a
held-out part for calibration and evaluation); the split settings, scaler,
labels or vocabulary (and the autoencoder's score spec) travel in a JSON
sidecar next to the ``.keras`` file, so ``edgewatch convert`` rebuilds the same split.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import numpy as np

from calibration.drift import SCORE_CHOICES, score_spec_for
from convert import _deps
from convert.data import Dataset, DataOptions
from convert.families import Task
from convert.families.autoencoder import FAMILY as AUTOENCODER
from convert.families.autoencoder import AutoencoderSpec, member_targets, members_view
from convert.recipes import recipe_for
from convert.recordings import read_training_table
from edge.features import feature_spec_from_dict
from edge.errors import ConfigError

__all__ = ["TrainConfig", "TrainResult", "train_model", "train_autoencoder", "fit", "sidecar_path", "read_sidecar",
           "write_sidecar"]

EpochCallback = Callable[[int, int, dict], None]
MAX_MEMBERS = 16  # the device pays one autoencoder's compute per member


@dataclass(frozen=True)
class TrainConfig:
    """Training settings; defaults suit a few thousand rows of 1-100 Hz sensor data.

    ``units``, ``filters`` and ``embedding`` left at ``None`` take the family's default.
    """

    family: str = AUTOENCODER
    window: int = 60
    hop: int | None = None  # runtime hop; default window // 10
    units: int | None = None
    members: int = 1  # autoencoders averaged in one model (an ensemble; see convert.families.autoencoder)
    filters: int | None = None
    embedding: int | None = None
    horizon: int = 1
    label_column: str = "label"
    vocab_size: int = 2000
    epochs: int = 50
    batch_size: int = 64
    patience: int = 5
    validation_fraction: float = 0.1
    holdout_fraction: float = 0.2
    learning_rate: float = 5e-3
    seed: int = 0
    sample_rate: float | None = None
    score: str = "mse"  # autoencoder window score: a key of calibration.drift.SCORE_CHOICES
    features: str = "none"  # none | logmel | mfcc (WAV recordings) | frames (videos)
    feature_params: dict | None = None  # the features' parameters other than their defaults

    def resolved_hop(self) -> int:
        return self.hop if self.hop else max(1, self.window // 10)

    def data_options(self) -> DataOptions:
        names = {f.name for f in fields(DataOptions)}
        return DataOptions(**{k: v for k, v in asdict(self).items() if k in names})

    def spec_overrides(self) -> dict:
        return {"units": self.units, "members": self.members, "filters": self.filters, "embedding": self.embedding}

    def check(self) -> None:
        if self.window < 2:
            raise ConfigError(f"--window must be at least 2, got {self.window}")
        if not 0.0 < self.holdout_fraction < 0.9 or not 0.0 < self.validation_fraction < 0.5:
            raise ConfigError("holdout fraction must be in (0, 0.9) and validation fraction in (0, 0.5)")
        if self.epochs < 1 or (self.units is not None and self.units < 1) or self.batch_size < 1:
            raise ConfigError("epochs, units and batch size must be >= 1")
        if not 1 <= self.members <= MAX_MEMBERS:
            raise ConfigError(f"--members must be between 1 and {MAX_MEMBERS}, got {self.members}")
        if self.members != 1 and self.family != AUTOENCODER:
            raise ConfigError("--members averages autoencoders; other families train one model")
        if self.horizon < 1:
            raise ConfigError(f"--horizon must be >= 1, got {self.horizon}")
        if self.score not in SCORE_CHOICES:
            raise ConfigError(f"--score must be one of {', '.join(SCORE_CHOICES)}, got {self.score!r}")
        if self.score != "mse" and self.family != AUTOENCODER:
            raise ConfigError("--score chooses the autoencoder's reconstruction score; other families have their own")


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


def write_sidecar(model_path: Path, sidecar: dict) -> None:
    sidecar_path(model_path).write_text(json.dumps(sidecar, indent=2), encoding="utf-8")


def train_model(data_path: Path, out: Path, config: TrainConfig, on_epoch: EpochCallback | None = None) -> TrainResult:
    """Fit ``config.family`` on ``data_path``; save the model to ``out`` with its sidecar."""
    config.check()
    recipe = recipe_for(config.family)
    options = config.data_options()
    dataset = recipe.load(Path(data_path), options)
    spec = recipe.make_spec(dataset, options, config.spec_overrides())
    keras = _deps.keras()
    keras.utils.set_random_seed(config.seed)
    model = recipe.family.build(keras, spec)
    history = fit(model, dataset, recipe.loss, config, on_epoch, spec=spec)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    model.save(out)
    sidecar = {"family": recipe.family.name, "task": recipe.family.task.value, "architecture": spec.to_dict(),
               **dataset.meta, "options": asdict(options), "training": asdict(config)}
    if recipe.family.task is Task.RECONSTRUCT:
        sidecar["score"] = score_spec_for(config.score, training_rows(Path(data_path), sidecar)).to_dict()
    write_sidecar(out, sidecar)
    losses = history.history
    return TrainResult(out, sidecar, len(losses["loss"]), float(losses["loss"][-1]), float(np.min(losses["val_loss"])))


def training_rows(data_path: Path, sidecar: dict) -> np.ndarray:
    """The raw rows (or feature frames) a sensor model trained on (drift weights of the ``channel-max`` score)."""
    start, end = sidecar["data"]["train_rows"]
    features = feature_spec_from_dict(sidecar.get("features"))
    return read_training_table(data_path, features, sidecar["columns"]).values[start:end]


def train_autoencoder(data_path: Path, out: Path, config: TrainConfig, on_epoch: EpochCallback | None = None):
    """The LSTM autoencoder on a normal-operation CSV (``train_model`` with that family)."""
    if config.family != AUTOENCODER:
        raise ConfigError(f"train_autoencoder got family {config.family!r}; use train_model")
    return train_model(data_path, out, config, on_epoch)


def fit(model, dataset: Dataset, loss: str, config: TrainConfig, on_epoch: EpochCallback | None = None,
        extra_callbacks: list | None = None, spec=None):
    """Compile and fit with early stopping on the validation split (best weights restored).

    An autoencoder ensemble (``spec.members > 1``) is fitted through its members' view, so each
    member learns from its own reconstruction error; ``model`` shares those layers.
    """
    keras = _deps.keras()
    if isinstance(spec, AutoencoderSpec) and spec.members > 1:
        model = members_view(keras, model, spec)
        dataset = replace(dataset, y_train=member_targets(dataset.y_train, spec),
                          y_val=member_targets(dataset.y_val, spec))
    metrics = ["accuracy"] if loss.startswith("sparse") else []
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss=loss, metrics=metrics)
    callbacks = [keras.callbacks.EarlyStopping(patience=config.patience, restore_best_weights=True),
                 *(extra_callbacks or [])]
    if on_epoch is not None:
        callbacks.append(_epoch_reporter(keras, config.epochs, on_epoch))
    return model.fit(dataset.x_train, dataset.y_train, validation_data=(dataset.x_val, dataset.y_val),
                     epochs=config.epochs, batch_size=config.batch_size, shuffle=True, verbose=0,
                     callbacks=callbacks)


def _epoch_reporter(keras, total: int, on_epoch: EpochCallback):
    class EpochReporter(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            on_epoch(epoch + 1, total, dict(logs or {}))

    return EpochReporter()


def is_score_task(task: Task) -> bool:
    """Tasks whose output becomes an anomaly score (threshold calibrated on normal data)."""
    return task in (Task.RECONSTRUCT, Task.FORECAST)
