"""The LSTM autoencoder in a form TensorFlow Lite Micro runs: RepeatVector without TILE.

``RepeatVector`` converts to TILE, which TFLite Micro lacks. Here the same
architecture is rebuilt in tf_keras (batch 1, for the fused LSTM op) with the
repeat done by ``tf.broadcast_to`` on a (1, 1, units) view of the code vector:
RESHAPE + BROADCAST_TO, both in TFLite Micro. It is the same function with the
same weights, so the user's trained model carries over without retraining.

Measured (units 16, window 60): float outputs identical to the TILE rebuild
(max |diff| 0.0); the full-INT8 file, calibrated on the same representative
windows, gives bit-identical outputs to the bundle's TILE model under LiteRT.
Rejected alternatives: one CONCATENATION of ``window`` copies fails in TFLite
Micro (at most 10 inputs); a doubling tree of CONCATENATIONs runs but changes
INT8 outputs by up to 5 LSB and needs a larger arena.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from calibration.dataset import RepresentativeDataset
from convert import _deps
from convert.autoencoder import FAMILY, AutoencoderSpec
from convert.export import Precision, rebuild_batch1, to_tflite
from convert.recipes import load_dataset, options_from_sidecar, representative_for
from convert.train import read_sidecar, sidecar_path
from edge.errors import ConfigError, ModelLoadError
from edge.scaler import StandardScaler

__all__ = ["McuConversion", "build_autoencoder_mcu", "rebuild_batch1_mcu", "convert_for_mcu", "check_bundle_match"]


@dataclass(frozen=True)
class McuConversion:
    """The TILE-free full-INT8 model and the evidence that it is the same model.

    Attributes:
        tflite: the full-INT8 flatbuffer (int8 input and output).
        float_max_abs_diff: largest difference between the TILE-free and the TILE
            tf_keras rebuilds over ``windows`` (float32).
        windows: scaled float windows (not used for training) the check ran on.
        sidecar: the model's sidecar (window, columns, scaler, data).
    """

    tflite: bytes
    float_max_abs_diff: float
    windows: np.ndarray
    sidecar: dict


def build_autoencoder_mcu(spec: AutoencoderSpec, batch_size: int = 1):
    """The autoencoder in tf_keras with the repeat as RESHAPE + BROADCAST_TO; layer names and weights as usual."""
    tf_keras, tf = _deps.tf_keras(), _deps.tensorflow()

    class RepeatByBroadcast(tf_keras.layers.Layer):
        """RepeatVector(n) without TILE: (batch, units) -> (batch, n, units)."""

        def __init__(self, n: int, **kwargs) -> None:
            super().__init__(**kwargs)
            self.n = n

        def call(self, x):
            return tf.broadcast_to(tf.expand_dims(x, 1), [tf.shape(x)[0], self.n, x.shape[-1]])

        def get_config(self) -> dict:
            return {**super().get_config(), "n": self.n}

    inputs = tf_keras.Input(shape=(spec.window, spec.channels), batch_size=batch_size, name="window")
    encoded = tf_keras.layers.LSTM(spec.units, name="encoder")(inputs)
    repeated = RepeatByBroadcast(spec.window, name="repeat")(encoded)
    decoded = tf_keras.layers.LSTM(spec.units, return_sequences=True, name="decoder")(repeated)
    outputs = tf_keras.layers.Dense(spec.channels, name="reconstruction")(decoded)
    return tf_keras.Model(inputs, outputs, name=FAMILY + "_mcu")


def rebuild_batch1_mcu(model, spec: AutoencoderSpec):
    """The TILE-free batch-1 rebuild carrying ``model``'s trained weights exactly."""
    rebuilt = build_autoencoder_mcu(spec, batch_size=1)
    rebuilt.set_weights(model.get_weights())
    return rebuilt


def convert_for_mcu(model_path: Path, data_path: Path, representative_count: int = 300,
                    check_count: int = 32) -> McuConversion:
    """Convert a trained autoencoder to a TILE-free full-INT8 model, calibrated as ``edgewatch convert`` does.

    Args:
        model_path: the Keras 3 ``.keras`` model with its ``.edgewatch.json`` sidecar.
        data_path: the CSV it was trained on (representative windows, as in ``convert``).
        representative_count: windows calibrating INT8 (the bundle manifest records it).
        check_count: held-out windows the float equivalence check runs on.

    Raises:
        ConfigError: no sidecar, or not an LSTM autoencoder.
        ModelLoadError: Keras cannot load the model.
    """
    sidecar = _sidecar(model_path)
    if sidecar.get("family") != FAMILY:
        raise ConfigError(f"the microcontroller rebuild knows the {FAMILY} family, not {sidecar.get('family')!r}")
    spec = AutoencoderSpec(**sidecar["architecture"])
    if spec.members != 1:
        raise ConfigError(f"the microcontroller rebuild takes one autoencoder, this model averages {spec.members}; "
                          "train it with --members 1")
    representative, held_out = _windows(sidecar, Path(data_path), representative_count, check_count)
    model = _load_keras(Path(model_path))
    mcu = rebuild_batch1_mcu(model, spec)
    reference = rebuild_batch1(model, spec)
    outputs = [m.predict(held_out, batch_size=1, verbose=0) for m in (mcu, reference)]
    diff = float(np.max(np.abs(outputs[0] - outputs[1])))
    return McuConversion(to_tflite(mcu, Precision.INT8, representative), diff, held_out, sidecar)


def _windows(sidecar: dict, data_path: Path, count: int, check_count: int):
    """The representative dataset exactly as ``convert.pipeline`` builds it, and held-out check windows."""
    scaler = StandardScaler.from_dict(sidecar["scaler"])
    dataset = load_dataset(FAMILY, data_path, options_from_sidecar(sidecar), scaler=scaler)
    held_out = RepresentativeDataset(dataset.x_test, check_count).windows
    return representative_for(dataset, count), held_out


def _sidecar(model_path: Path) -> dict:
    sidecar = read_sidecar(model_path)
    if sidecar is None:
        raise ConfigError(f"{Path(model_path).name} has no {sidecar_path(model_path).name} beside it; "
                          "train it with 'edgewatch train autoencoder'")
    return sidecar


def _load_keras(path: Path):
    keras = _deps.keras()
    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as exc:  # Keras raises many types for a bad file
        raise ModelLoadError(f"cannot load {path.name} with Keras 3: {str(exc).splitlines()[0]}") from exc


def check_bundle_match(model_path: Path, manifest: dict) -> None:
    """``ConfigError`` unless ``model_path`` is the model the bundle was converted from (data and architecture)."""
    sidecar = _sidecar(model_path)
    model = manifest.get("model", {})
    same_data = sidecar["data"]["sha256"] == model.get("trained_on", {}).get("sha256")
    if not same_data or sidecar["architecture"] != model.get("architecture"):
        raise ConfigError(f"{Path(model_path).name} is not the model bundle '{model.get('name')}' was converted "
                          "from (different training data or architecture); pass that model, or convert this one")
