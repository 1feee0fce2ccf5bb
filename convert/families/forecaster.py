"""Stacked-LSTM forecaster: predicts the next ``horizon`` rows; anomaly score = forecast error."""

from __future__ import annotations

from dataclasses import dataclass

from convert.families.base import Family, Spec, Task

__all__ = ["ForecasterSpec", "build_forecaster", "FORECASTER"]


@dataclass(frozen=True)
class ForecasterSpec(Spec):
    """``window`` rows of ``channels`` in, the next ``horizon`` rows out; two LSTMs of ``units``."""

    window: int
    channels: int
    horizon: int = 1
    units: int = 64
    prunable = ("units",)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (self.window, self.channels)


def build_forecaster(k, spec: ForecasterSpec, batch_size: int | None = None, unroll: bool = False):
    inputs = k.Input(shape=(spec.window, spec.channels), batch_size=batch_size, name="window")
    hidden = k.layers.LSTM(spec.units, return_sequences=True, unroll=unroll, name="lstm_1")(inputs)
    hidden = k.layers.LSTM(spec.units, unroll=unroll, name="lstm_2")(hidden)
    flat = k.layers.Dense(spec.horizon * spec.channels, name="forecast_flat")(hidden)
    outputs = k.layers.Reshape((spec.horizon, spec.channels), name="forecast")(flat)
    return k.Model(inputs, outputs, name="stacked_lstm_forecaster")


FORECASTER = Family("lstm_forecaster", Task.FORECAST, ForecasterSpec, build_forecaster,
                    "stacked-LSTM forecaster (score: forecast error of the next rows)")
