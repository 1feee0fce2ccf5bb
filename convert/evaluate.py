"""Measuring what each artifact costs: agreement with the Keras model, and latency here."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from edge.backends import open_backend
from edge.scaler import StandardScaler
from edge.score import ScoreSpec, WindowScorer

__all__ = ["Agreement", "keras_scores", "variant_scores", "agreement", "median_latency_ms"]


@dataclass(frozen=True)
class Agreement:
    """How closely a variant's scores follow the Keras model's on held-out windows."""

    windows: int
    score_correlation: float
    max_abs_score_diff: float
    median_rel_score_diff: float
    decision_agreement: float  # fraction of windows on the same side of the threshold

    def to_dict(self) -> dict:
        return {k: float(f"{v:.7g}") if isinstance(v, float) else v for k, v in asdict(self).items()}


def keras_scores(model, scaled_windows: np.ndarray, spec: ScoreSpec = ScoreSpec()) -> np.ndarray:
    """The bundle's score per window from the float Keras model (batched)."""
    reconstruction = np.asarray(model.predict(scaled_windows, batch_size=256, verbose=0))
    return spec.scores(scaled_windows, reconstruction)


def variant_scores(model_format: str, path: Path, scaler: StandardScaler, raw_windows: np.ndarray,
                   spec: ScoreSpec = ScoreSpec()) -> np.ndarray:
    """Scores through the device backend and scorer, exactly as ``edge-infer`` computes them."""
    backend = open_backend(model_format, path)
    try:
        scorer = WindowScorer(scaler, backend, spec)
        return np.asarray([scorer(w) for w in raw_windows])
    finally:
        backend.close()


def agreement(reference: np.ndarray, candidate: np.ndarray, threshold: float) -> Agreement:
    diff = np.abs(candidate - reference)
    corr = float(np.corrcoef(reference, candidate)[0, 1]) if np.std(reference) > 0 else 1.0
    same_side = np.mean((reference > threshold) == (candidate > threshold))
    return Agreement(
        windows=len(reference),
        score_correlation=corr,
        max_abs_score_diff=float(diff.max()),
        median_rel_score_diff=float(np.median(diff / np.maximum(np.abs(reference), 1e-12))),
        decision_agreement=float(same_side),
    )


def median_latency_ms(model_format: str, path: Path, scaled_windows: np.ndarray, repeats: int = 200) -> float:
    """Median wall time of one ``Backend.run`` here (batch 1, one thread)."""
    backend = open_backend(model_format, path)
    try:
        backend.run(scaled_windows[:1])
        times = []
        for i in range(repeats):
            window = scaled_windows[i % len(scaled_windows)][None]
            began = time.perf_counter()
            backend.run(window)
            times.append((time.perf_counter() - began) * 1000.0)
        return float(np.median(times))
    finally:
        backend.close()
