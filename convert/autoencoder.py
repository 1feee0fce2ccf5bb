"""The LSTM autoencoder, built by one function for Keras 3 and for tf_keras.

Training uses Keras 3; the TFLite export rebuilds the identical architecture
in tf_keras with batch 1 (the only route that yields the fused LSTM op and a
working full-INT8 conversion with TF 2.21) and copies the weights.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["AutoencoderSpec", "build_autoencoder", "FAMILY"]

FAMILY = "lstm_autoencoder"


@dataclass(frozen=True)
class AutoencoderSpec:
    """Shape of the autoencoder: windows of ``window`` x ``channels``, ``units`` per LSTM."""

    window: int
    channels: int
    units: int = 32

    def to_dict(self) -> dict:
        return asdict(self)


def build_autoencoder(k, spec: AutoencoderSpec, batch_size: int | None = None):
    """Build the model with the Keras-like module ``k`` (``keras`` or ``tf_keras``).

    LSTM encoder -> RepeatVector -> LSTM decoder -> Dense on the 3-D tensor
    (not TimeDistributed, which the converter traces once per time step).
    """
    inputs = k.Input(shape=(spec.window, spec.channels), batch_size=batch_size, name="window")
    encoded = k.layers.LSTM(spec.units, name="encoder")(inputs)
    repeated = k.layers.RepeatVector(spec.window, name="repeat")(encoded)
    decoded = k.layers.LSTM(spec.units, return_sequences=True, name="decoder")(repeated)
    outputs = k.layers.Dense(spec.channels, name="reconstruction")(decoded)
    return k.Model(inputs, outputs, name=FAMILY)
