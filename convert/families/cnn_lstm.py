"""CNN + LSTM over short sequences of small camera frames -> one of ``classes`` labels."""

from __future__ import annotations

from dataclasses import dataclass

from convert.families.base import Family, Spec, Task

__all__ = ["CnnLstmSpec", "build_cnn_lstm", "CNN_LSTM"]


@dataclass(frozen=True)
class CnnLstmSpec(Spec):
    """``frames`` frames of ``height`` x ``width`` x ``channels``; ``filters`` per conv, ``units`` LSTM."""

    frames: int
    height: int
    width: int
    channels: int
    classes: int
    filters: int = 8
    units: int = 32
    prunable = ("filters", "units")

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (self.frames, self.height, self.width, self.channels)


def build_cnn_lstm(k, spec: CnnLstmSpec, batch_size: int | None = None, unroll: bool = False):
    """Per-frame Conv2D (stride 2) + global average pooling, then an LSTM over the frame features."""
    inputs = k.Input(shape=spec.input_shape, batch_size=batch_size, name="frames")
    conv = k.layers.TimeDistributed(
        k.layers.Conv2D(spec.filters, 3, strides=2, padding="same", activation="relu"), name="conv")(inputs)
    pooled = k.layers.TimeDistributed(k.layers.GlobalAveragePooling2D(), name="pool")(conv)
    hidden = k.layers.LSTM(spec.units, unroll=unroll, name="lstm")(pooled)
    outputs = k.layers.Dense(spec.classes, activation="softmax", name="probabilities")(hidden)
    return k.Model(inputs, outputs, name="cnn_lstm")


CNN_LSTM = Family("cnn_lstm", Task.CLASSIFY, CnnLstmSpec, build_cnn_lstm,
                  "CNN+LSTM classifier over short frame sequences (camera)")
