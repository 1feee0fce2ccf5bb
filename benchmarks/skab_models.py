"""The SKAB benchmark's per-file models (``skab.py``): one compiled Keras autoencoder re-initialised per file.

Training 34 models per seed by rebuilding and recompiling each would trace the graph 34 times;
``FileTrainer`` builds once and resets weights and optimizer state between files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from skab_device import DEFAULTS
from calibration.dataset import RepresentativeDataset
from convert import _deps
from convert.autoencoder import AutoencoderSpec, build_autoencoder, member_targets, members_view
from convert.export import Precision, to_tflite
from edge.choice import measure_latencies

__all__ = ["FileTrainer", "int8_latency"]


class FileTrainer:
    """One compiled Keras autoencoder (``members`` averaged), re-initialised for every file (no 34 graph traces)."""

    def __init__(self, window: int, channels: int, units: int, members: int, learning_rate: float, seed: int) -> None:
        self.keras = _deps.keras()
        self.keras.utils.set_random_seed(seed)
        self.spec = AutoencoderSpec(window, channels, units, members)
        self.model = build_autoencoder(self.keras, self.spec)
        self.fitted = members_view(self.keras, self.model, self.spec)  # each member on its own error
        self.fitted.compile(optimizer=self.keras.optimizers.Adam(learning_rate), loss="mse",
                            jit_compile=True, steps_per_execution=16)
        self.fitted.optimizer.build(self.fitted.trainable_variables)
        self._initial = [w.copy() for w in self.fitted.get_weights()]

    def fit(self, windows: np.ndarray, epochs: int, batch_size: int = 32, validation: float = 0.1) -> None:
        """Fresh weights and optimizer state, then fit; the last ``validation`` share validates (as SKAB)."""
        self.fitted.set_weights(self._initial)
        for variable in self.fitted.optimizer.variables:
            if "learning_rate" not in variable.path:
                variable.assign(np.zeros(variable.shape, variable.dtype))
        n_val = max(1, int(len(windows) * validation))
        train, val = windows[:-n_val], windows[-n_val:]
        self.fitted.fit(train, member_targets(train, self.spec), validation_data=(val, member_targets(val, self.spec)),
                        epochs=epochs, batch_size=batch_size, shuffle=True, verbose=0)

    def reconstruct(self, windows: np.ndarray) -> np.ndarray:
        """The model's output: the mean of the members' reconstructions."""
        return np.asarray(self.model.predict(windows, batch_size=512, verbose=0))

    def first_member(self, windows: np.ndarray) -> np.ndarray:
        """The first member's own reconstruction (a model trained alone from that initialisation)."""
        return np.asarray(self.fitted.predict(windows, batch_size=512, verbose=0))[..., : self.spec.channels]

    def first_member_batch1(self):
        """The first member alone as a batch-1 tf_keras model, for the latency of one member."""
        one = build_autoencoder(_deps.tf_keras(), AutoencoderSpec(self.spec.window, self.spec.channels,
                                                                  self.spec.units), batch_size=1)
        for layer in one.layers:
            if layer.weights:
                layer.set_weights(self.model.get_layer(f"{layer.name}_1").get_weights())
        return one


def int8_latency(trainer: FileTrainer, train_scaled: np.ndarray, path: Path) -> dict:
    """Median INT8 inference time here (LiteRT, batch 1) of the whole model and of one member, and file sizes."""
    representative = RepresentativeDataset(train_scaled, DEFAULTS.representative_count)
    single = path.with_name(path.stem + "_member1.tflite")
    single.write_bytes(to_tflite(trainer.first_member_batch1(), Precision.INT8, representative))
    figures = {}
    for name, model_path in ((f"{trainer.spec.members} members", path), ("1 member", single)):
        figures[name] = {"latency_ms": measure_latencies({"int8": ("tflite", model_path)}, train_scaled, repeats=500)["int8"]["median_ms"],
                         "bytes": model_path.stat().st_size}
    return figures
