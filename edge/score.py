"""Anomaly scores computed from a model's output."""

from __future__ import annotations

import numpy as np

from edge.backends.base import Backend
from edge.scaler import StandardScaler

__all__ = ["reconstruction_error", "WindowScorer"]


def reconstruction_error(window: np.ndarray, reconstruction: np.ndarray) -> float:
    """Mean squared error between a scaled window and the autoencoder's reconstruction."""
    diff = np.asarray(reconstruction, dtype=np.float32).reshape(window.shape) - window
    return float(np.mean(diff * diff))


class WindowScorer:
    """Raw window -> scaled -> model -> reconstruction error; the same on host and device."""

    def __init__(self, scaler: StandardScaler, backend: Backend) -> None:
        self.scaler, self.backend = scaler, backend

    def __call__(self, values: np.ndarray) -> float:
        scaled = self.scaler.transform(values)
        return reconstruction_error(scaled, self.backend.run(scaled[None]))
