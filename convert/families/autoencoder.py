"""LSTM autoencoder over sensor windows: anomaly score = reconstruction error."""

from __future__ import annotations

from dataclasses import dataclass

from convert.families.base import Family, Spec, Task

__all__ = ["AutoencoderSpec", "build_autoencoder", "FAMILY", "AUTOENCODER"]

FAMILY = "lstm_autoencoder"


@dataclass(frozen=True)
class AutoencoderSpec(Spec):
    """Windows of ``window`` x ``channels``, ``units`` per LSTM (encoder and decoder)."""

    window: int
    channels: int
    units: int = 32
    prunable = ("units",)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (self.window, self.channels)


def build_autoencoder(k, spec: AutoencoderSpec, batch_size: int | None = None, unroll: bool = False):
    """LSTM encoder -> RepeatVector -> LSTM decoder -> Dense on the 3-D tensor.

    Dense on the 3-D tensor, not TimeDistributed (which the converter traces
    once per time step); the same weights either way.
    """
    inputs = k.Input(shape=(spec.window, spec.channels), batch_size=batch_size, name="window")
    encoded = k.layers.LSTM(spec.units, unroll=unroll, name="encoder")(inputs)
    repeated = k.layers.RepeatVector(spec.window, name="repeat")(encoded)
    decoded = k.layers.LSTM(spec.units, return_sequences=True, unroll=unroll, name="decoder")(repeated)
    outputs = k.layers.Dense(spec.channels, name="reconstruction")(decoded)
    return k.Model(inputs, outputs, name=FAMILY)


AUTOENCODER = Family(FAMILY, Task.RECONSTRUCT, AutoencoderSpec, build_autoencoder,
                     "LSTM autoencoder for sensor anomalies (score: reconstruction error)")
