"""The LSTM autoencoder, built by one function for Keras 3 and for tf_keras.

Training uses Keras 3; the TFLite export rebuilds the identical architecture
in tf_keras with batch 1 (the only route that yields the fused LSTM op and a
working full-INT8 conversion with TF 2.21) and copies the weights.

With ``members > 1`` the model is an ensemble in one graph: that many
autoencoders, each with its own random initialisation, read the same window
and the output is the mean of their reconstructions. Each member is trained
on its own reconstruction error (``members_view``), so averaging cancels part
of what one training run's luck puts into the scores; the device runs one
artifact and pays ``members`` times the compute.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["AutoencoderSpec", "build_autoencoder", "members_view", "member_targets", "FAMILY"]

FAMILY = "lstm_autoencoder"


@dataclass(frozen=True)
class AutoencoderSpec:
    """Shape of the autoencoder: windows of ``window`` x ``channels``, ``units`` per LSTM, ``members`` averaged."""

    window: int
    channels: int
    units: int = 32
    members: int = 1

    def to_dict(self) -> dict:
        return asdict(self)


def _member(k, inputs, spec: AutoencoderSpec, suffix: str):
    encoded = k.layers.LSTM(spec.units, name=f"encoder{suffix}")(inputs)
    repeated = k.layers.RepeatVector(spec.window, name=f"repeat{suffix}")(encoded)
    decoded = k.layers.LSTM(spec.units, return_sequences=True, name=f"decoder{suffix}")(repeated)
    return k.layers.Dense(spec.channels, name=f"reconstruction{suffix}")(decoded)


def build_autoencoder(k, spec: AutoencoderSpec, batch_size: int | None = None):
    """Build the model with the Keras-like module ``k`` (``keras`` or ``tf_keras``).

    LSTM encoder -> RepeatVector -> LSTM decoder -> Dense on the 3-D tensor
    (not TimeDistributed, which the converter traces once per time step); with
    several members, one such branch per member (layer names suffixed ``_1``,
    ``_2``, ...) and their mean, named ``reconstruction``.
    """
    inputs = k.Input(shape=(spec.window, spec.channels), batch_size=batch_size, name="window")
    if spec.members == 1:
        return k.Model(inputs, _member(k, inputs, spec, ""), name=FAMILY)
    outputs = [_member(k, inputs, spec, f"_{i}") for i in range(1, spec.members + 1)]
    return k.Model(inputs, k.layers.Average(name="reconstruction")(outputs), name=FAMILY)


def members_view(k, model, spec: AutoencoderSpec):
    """The model to fit: ``model`` itself, or for an ensemble the members' outputs side by side (same layers).

    Fitted against :func:`member_targets`, the mean squared error is the mean of the
    members' own errors, so each member learns to reconstruct the window on its own.
    """
    if spec.members == 1:
        return model
    outputs = [model.get_layer(f"reconstruction_{i}").output for i in range(1, spec.members + 1)]
    return k.Model(model.inputs, k.layers.Concatenate(axis=-1, name="members")(outputs), name=FAMILY + "_members")


def member_targets(windows: np.ndarray, spec: AutoencoderSpec) -> np.ndarray:
    """Training targets for :func:`members_view`: the windows, once per member along the channel axis."""
    return windows if spec.members == 1 else np.tile(windows, (1, 1, spec.members))
