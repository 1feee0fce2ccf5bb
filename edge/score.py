"""Anomaly scores computed from a model's output, as the bundle's score spec says.

A score kind is a pure numpy function of the scaled window(s) and the model's
output; the host (threshold calibration, the Keras-vs-variant table) and the
device (``edge-infer``) call the same function through :class:`ScoreSpec`.
The heads per model family:

    reconstruction_mse / channel_max_mse   autoencoder: reconstruction error
    forecast_mse                           forecaster: error of the forecast of the window's last rows
    class_confidence                       classifier: probability of the likeliest non-background label
    next_token                             generator: no score; ``edgewatch generate`` samples it

Bundles that name a kind this edgewatch does not know are refused when loaded,
never scored wrongly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from edge.backends.base import Backend
from edge.errors import ConfigError
from edge.scaler import StandardScaler

__all__ = [
    "ScoreSpec", "WindowScorer", "SCORE_KINDS", "RECONSTRUCTION_MSE", "CHANNEL_MAX_MSE", "FORECAST_MSE",
    "CLASS_CONFIDENCE", "NEXT_TOKEN", "reconstruction_mse", "channel_max_mse", "forecast_mse", "class_confidence",
    "reconstruction_error",
]

RECONSTRUCTION_MSE = "reconstruction_mse"
CHANNEL_MAX_MSE = "channel_max_mse"
FORECAST_MSE = "forecast_mse"  # forecaster: the model sees the window's head and predicts its last rows
CLASS_CONFIDENCE = "class_confidence"  # classifier: probability of the likeliest non-background label
NEXT_TOKEN = "next_token"  # generator: sampled by ``edgewatch generate``, never scored


def _weighted_residual(scaled: np.ndarray, output: np.ndarray, weights: tuple[float, ...] | None) -> np.ndarray:
    diff = np.asarray(output, dtype=np.float32).reshape(scaled.shape) - np.asarray(scaled, dtype=np.float32)
    return diff if weights is None else diff * np.asarray(weights, dtype=np.float32)


def reconstruction_mse(scaled: np.ndarray, output: np.ndarray, weights: tuple[float, ...] | None = None) -> np.ndarray:
    """Mean squared (weighted) residual over each window's rows and channels; windows on the last two axes."""
    diff = _weighted_residual(scaled, output, weights)
    return np.mean(diff * diff, axis=(-2, -1))


def channel_max_mse(scaled: np.ndarray, output: np.ndarray, weights: tuple[float, ...] | None = None) -> np.ndarray:
    """The largest, over channels, of a channel's mean squared (weighted) residual in the window.

    An anomaly in one sensor of many is diluted by the others in the plain mean; the maximum keeps
    it whole, which is why channel weights (see ``calibration.drift``) matter for this kind.
    """
    diff = _weighted_residual(scaled, output, weights)
    return np.max(np.mean(diff * diff, axis=-2), axis=-1)


def forecast_mse(scaled: np.ndarray, output: np.ndarray, weights: tuple[float, ...] | None = None) -> np.ndarray:
    """Mean squared (weighted) error of the forecast ``output`` against the last rows of each scaled window.

    ``output`` holds ``horizon`` rows per window (any shape of that size); the model saw the rows before them.
    """
    channels = scaled.shape[-1]
    forecast = np.asarray(output, dtype=np.float32).reshape(*scaled.shape[:-2], -1, channels)
    actual = np.asarray(scaled, dtype=np.float32)[..., -forecast.shape[-2]:, :]
    diff = forecast - actual if weights is None else (forecast - actual) * np.asarray(weights, dtype=np.float32)
    return np.mean(diff * diff, axis=(-2, -1))


def class_confidence(probabilities: np.ndarray, background: int | None = None) -> np.ndarray:
    """The highest probability among labels other than ``background`` (index), per window."""
    p = np.asarray(probabilities, dtype=np.float32)
    if background is not None:
        p = np.delete(p, background, axis=-1)
    return np.max(p, axis=-1)


ScoreFunction = Callable[[np.ndarray, np.ndarray, "tuple[float, ...] | None"], np.ndarray]

# kind (as written in the manifest) -> function(scaled, model output, channel weights) -> scores
# (class_confidence and next_token are not residuals: ScoreSpec.scores handles them)
SCORE_KINDS: Mapping[str, ScoreFunction | None] = MappingProxyType({
    RECONSTRUCTION_MSE: reconstruction_mse,
    CHANNEL_MAX_MSE: channel_max_mse,
    FORECAST_MSE: forecast_mse,
    CLASS_CONFIDENCE: None,
    NEXT_TOKEN: None,
})


@dataclass(frozen=True)
class ScoreSpec:
    """How a window's model output becomes one anomaly score (the manifest's ``score`` object).

    Attributes:
        kind: a key of :data:`SCORE_KINDS`; bundles without a score spec use ``reconstruction_mse``.
        channel_weights: one factor per input channel multiplying that channel's residual before it
            is squared (``None``: all 1). Chosen on the host from training data, e.g. to quieten
            slow-drifting sensors.
        horizon: ``forecast_mse``: rows at the end of each window that the model predicts from the
            rows before them.
        background: ``class_confidence``: index of the label that raises no event (``None``: every
            label counts).
    """

    kind: str = RECONSTRUCTION_MSE
    channel_weights: tuple[float, ...] | None = None
    horizon: int = 1
    background: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in SCORE_KINDS:
            raise ConfigError(f"unknown score kind {self.kind!r}; this edgewatch knows: {', '.join(SCORE_KINDS)}")
        if self.channel_weights is not None:
            weights = tuple(float(w) for w in self.channel_weights)
            if not weights or not all(math.isfinite(w) and w > 0 for w in weights):
                raise ConfigError(f"channel weights must be finite and > 0, got {list(self.channel_weights)}")
            object.__setattr__(self, "channel_weights", weights)
        if self.horizon < 1:
            raise ConfigError(f"the forecast horizon must be >= 1, got {self.horizon}")

    def check_channels(self, channels: int) -> None:
        """Raise ``ConfigError`` unless the weights (if any) match ``channels`` input channels."""
        if self.channel_weights is not None and len(self.channel_weights) != channels:
            raise ConfigError(f"the score has {len(self.channel_weights)} channel weights for {channels} channels")

    def model_input(self, scaled: np.ndarray) -> np.ndarray:
        """What the model sees of scaled window(s): all of it, or for a forecaster all but the last rows."""
        return scaled[..., :-self.horizon, :] if self.kind == FORECAST_MSE else scaled

    def scores(self, scaled: np.ndarray, output: np.ndarray) -> np.ndarray:
        """Scores of scaled windows ``(..., window, channels)`` given the model's output for them."""
        if self.kind == CLASS_CONFIDENCE:
            return class_confidence(output, self.background)
        if self.kind == NEXT_TOKEN:
            raise ConfigError("a text generator bundle gives no anomaly score: run it with 'edgewatch generate'")
        return SCORE_KINDS[self.kind](scaled, output, self.channel_weights)

    def to_dict(self) -> dict:
        weights = list(self.channel_weights) if self.channel_weights is not None else None
        extra = {"horizon": self.horizon} if self.kind == FORECAST_MSE else \
            {"background_index": self.background} if self.kind == CLASS_CONFIDENCE else {}
        return {"kind": self.kind, "channel_weights": weights, **extra}

    @classmethod
    def from_dict(cls, data: Mapping | None) -> "ScoreSpec":
        """The spec a manifest or sidecar describes; ``None`` (old bundles) means reconstruction MSE."""
        if data is None:
            return cls()
        weights = data.get("channel_weights")
        background = data.get("background_index")
        return cls(str(data["kind"]), tuple(weights) if weights is not None else None,
                   int(data.get("horizon", 1)), int(background) if background is not None else None)


def reconstruction_error(window: np.ndarray, reconstruction: np.ndarray) -> float:
    """Mean squared error between one scaled window and the autoencoder's reconstruction."""
    return float(reconstruction_mse(np.asarray(window, dtype=np.float32), reconstruction))


class WindowScorer:
    """Raw window -> scaled -> model -> score; the same object on host and device."""

    def __init__(self, scaler: StandardScaler, backend: Backend, spec: ScoreSpec | None = None) -> None:
        self.scaler, self.backend = scaler, backend
        self.spec = spec if spec is not None else ScoreSpec()
        if self.spec.kind == NEXT_TOKEN:
            raise ConfigError("a text generator bundle gives no anomaly score: run it with 'edgewatch generate'")

    def __call__(self, values: np.ndarray) -> float:
        scaled = self.scaler.transform(values)
        scores = self.spec.scores(scaled, self.backend.run(self.spec.model_input(scaled)[None]))
        return float(np.reshape(scores, -1)[0])  # one window: a scalar, or (1,) for per-batch kinds
