"""LSTM autoencoder over sensor windows: anomaly score = reconstruction error.

With ``members > 1`` the model is an ensemble in one graph: that many
autoencoders, each with its own random initialisation, read the same window
and the output is the mean of their reconstructions. Each member is trained
on its own reconstruction error (``members_view``), so averaging cancels part
of what one training run's luck puts into the scores; the device runs one
artifact and pays ``members`` times the compute.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from convert.families.base import Family, Spec, Task

__all__ = ["AutoencoderSpec", "build_autoencoder", "members_view", "member_targets", "FAMILY", "AUTOENCODER"]

FAMILY = "lstm_autoencoder"


@dataclass(frozen=True)
class AutoencoderSpec(Spec):
    """Windows of ``window`` x ``channels``, ``units`` per LSTM (encoder and decoder), ``members`` averaged."""

    window: int
    channels: int
    units: int = 32
    members: int = 1
    prunable = ("units",)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (self.window, self.channels)


def _member(k, inputs, spec: AutoencoderSpec, suffix: str, unroll: bool):
    encoded = k.layers.LSTM(spec.units, unroll=unroll, name=f"encoder{suffix}")(inputs)
    repeated = k.layers.RepeatVector(spec.window, name=f"repeat{suffix}")(encoded)
    decoded = k.layers.LSTM(spec.units, return_sequences=True, unroll=unroll, name=f"decoder{suffix}")(repeated)
    return k.layers.Dense(spec.channels, name=f"reconstruction{suffix}")(decoded)


def build_autoencoder(k, spec: AutoencoderSpec, batch_size: int | None = None, unroll: bool = False):
    """LSTM encoder -> RepeatVector -> LSTM decoder -> Dense on the 3-D tensor.

    Dense on the 3-D tensor, not TimeDistributed (which the converter traces
    once per time step); the same weights either way. With several members,
    one such branch per member (layer names suffixed ``_1``, ``_2``, ...) and
    their mean, named ``reconstruction``.
    """
    inputs = k.Input(shape=(spec.window, spec.channels), batch_size=batch_size, name="window")
    if spec.members == 1:
        return k.Model(inputs, _member(k, inputs, spec, "", unroll), name=FAMILY)
    outputs = [_member(k, inputs, spec, f"_{i}", unroll) for i in range(1, spec.members + 1)]
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


AUTOENCODER = Family(FAMILY, Task.RECONSTRUCT, AutoencoderSpec, build_autoencoder,
                     "LSTM autoencoder for sensor anomalies (score: reconstruction error)")
