"""Recurrent classifier over feature windows (sensor events, audio MFCC frames): LSTM, BiLSTM or GRU."""

from __future__ import annotations

from dataclasses import dataclass

from convert.families.base import Family, Spec, Task
from edge.errors import ConfigError

__all__ = ["ClassifierSpec", "build_classifier", "CELLS", "CLASSIFIERS"]

CELLS = ("lstm", "bilstm", "gru")


@dataclass(frozen=True)
class ClassifierSpec(Spec):
    """Windows of ``window`` x ``channels`` -> one of ``classes`` labels, via ``cell`` with ``units``."""

    window: int
    channels: int
    classes: int
    units: int = 64
    cell: str = "lstm"
    prunable = ("units",)

    def __post_init__(self) -> None:
        if self.cell not in CELLS:
            raise ConfigError(f"classifier cell must be one of {', '.join(CELLS)}, got {self.cell!r}")
        if self.classes < 2:
            raise ConfigError(f"a classifier needs at least 2 classes, got {self.classes}")

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (self.window, self.channels)


def recurrent_layer(k, cell: str, units: int, unroll: bool, name: str, return_sequences: bool = False):
    """One LSTM, GRU or Bidirectional(LSTM) layer (``reset_after`` GRU, the Keras default)."""
    if cell == "gru":
        return k.layers.GRU(units, unroll=unroll, return_sequences=return_sequences, name=name)
    lstm = k.layers.LSTM(units, unroll=unroll, return_sequences=return_sequences, name=name)
    return k.layers.Bidirectional(lstm, name=name + "_bi") if cell == "bilstm" else lstm


def build_classifier(k, spec: ClassifierSpec, batch_size: int | None = None, unroll: bool = False):
    inputs = k.Input(shape=(spec.window, spec.channels), batch_size=batch_size, name="window")
    hidden = recurrent_layer(k, spec.cell, spec.units, unroll, "recurrent")(inputs)
    outputs = k.layers.Dense(spec.classes, activation="softmax", name="probabilities")(hidden)
    return k.Model(inputs, outputs, name=f"{spec.cell}_classifier")


CLASSIFIERS = {
    cell: Family(f"{cell}_classifier", Task.CLASSIFY, ClassifierSpec, build_classifier,
                 f"{cell.upper()} classifier over feature windows", recurrent="gru" if cell == "gru" else "lstm")
    for cell in CELLS
}
