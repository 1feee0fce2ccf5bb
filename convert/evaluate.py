"""How far each variant strays from the Keras model on held-out data, per task.

    classify / generate   accuracy, and argmax agreement with Keras
    reconstruct           score correlation, and detection F1 at each one's own calibrated threshold
    forecast              forecast RMSE, and score correlation

Every variant runs on its real runtime (``edge.backends``), one input at a
time, exactly as on the device. A variant is within the budget ``max_drop``
when no metric falls more than ``max_drop`` below the Keras model's (for RMSE:
rises by more than ``max_drop`` relative); it has *collapsed* when it falls
ten times further, as INT8 sequence models sometimes do.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from convert.families import Task
from edge.backends import open_backend
from edge.score import FORECAST_MSE, ScoreSpec

__all__ = ["run_variant", "keras_outputs", "window_scores", "Verdict", "classifier_metrics", "score_metrics",
           "probe_anomalies", "f1_score", "budget_verdict", "COLLAPSE_FACTOR"]

COLLAPSE_FACTOR = 10.0


def keras_outputs(model, inputs: np.ndarray) -> np.ndarray:
    return np.asarray(model.predict(inputs, batch_size=256, verbose=0), dtype=np.float32)


def run_variant(model_format: str, path: Path, inputs: np.ndarray) -> np.ndarray:
    """Outputs of one artifact on every input, through the device backend (batch 1, state reset)."""
    backend = open_backend(model_format, path)
    try:
        return np.stack([np.asarray(backend.run(x[None]), np.float32).reshape(-1) for x in inputs])
    finally:
        backend.close()


def window_scores(spec: ScoreSpec, inputs: np.ndarray, targets: np.ndarray, outputs: np.ndarray) -> np.ndarray:
    """The bundle's anomaly score per window (``edge.score``, as on the device) from the model's outputs.

    ``inputs`` are what the model saw and ``targets`` what it should give back: the window itself
    (autoencoder) or the rows after it (forecaster, whose device window is both together).
    """
    if spec.kind == FORECAST_MSE:
        windows = np.concatenate([inputs, targets.reshape(len(targets), -1, inputs.shape[-1])], axis=1)
    else:
        windows = targets
    return np.asarray(spec.scores(windows, outputs.reshape(len(outputs), -1)), dtype=np.float64)


def f1_score(truth: np.ndarray, flagged: np.ndarray) -> float:
    tp = float(np.sum(truth & flagged))
    fp, fn = float(np.sum(~truth & flagged)), float(np.sum(truth & ~flagged))
    return 1.0 if tp + fp + fn == 0 else 2 * tp / (2 * tp + fp + fn)


def probe_anomalies(windows: np.ndarray, seed: int = 0, shift: float = 3.0) -> np.ndarray:
    """Copies of held-out windows with one channel shifted by ``shift`` (scaled units) over its second half.

    Used to measure detection F1 when no labelled anomalies are given: the
    float model flags them, and a variant that no longer does has lost accuracy.
    """
    rng = np.random.default_rng(seed)
    probes = np.array(windows, dtype=np.float32, copy=True)
    half = probes.shape[1] // 2
    for probe in probes:
        probe[half:, rng.integers(probe.shape[-1])] += shift * rng.choice([-1.0, 1.0])
    return probes


def classifier_metrics(reference: np.ndarray, candidate: np.ndarray, labels: np.ndarray) -> dict:
    ref, cand = reference.argmax(axis=1), candidate.argmax(axis=1)
    return {"accuracy": float(np.mean(cand == labels)), "keras_accuracy": float(np.mean(ref == labels)),
            "argmax_agreement": float(np.mean(ref == cand)),
            "max_abs_prob_diff": float(np.max(np.abs(reference - candidate)))}


def score_metrics(reference: np.ndarray, candidate: np.ndarray) -> dict:
    corr = float(np.corrcoef(reference, candidate)[0, 1]) if np.std(reference) > 0 and np.std(candidate) > 0 else 0.0
    diff = np.abs(candidate - reference)
    return {"score_correlation": corr, "max_abs_score_diff": float(diff.max()),
            "median_rel_score_diff": float(np.median(diff / np.maximum(np.abs(reference), 1e-12)))}


@dataclass(frozen=True)
class Verdict:
    """Whether a variant stays within the budget, and the figure that decided it."""

    within_budget: bool
    collapsed: bool
    worst_metric: str
    worst_drop: float
    reason: str

    def to_dict(self) -> dict:
        return {"within_budget": self.within_budget, "collapsed": self.collapsed, "worst_metric": self.worst_metric,
                "worst_drop": round(self.worst_drop, 6), "reason": self.reason}


def _drops(task: Task, metrics: dict) -> dict[str, float]:
    """Each budgeted metric's loss against Keras (positive = worse)."""
    if task in (Task.CLASSIFY, Task.GENERATE):
        return {"accuracy": metrics["keras_accuracy"] - metrics["accuracy"],
                "argmax_agreement": 1.0 - metrics["argmax_agreement"]}
    drops = {"score_correlation": 1.0 - metrics["score_correlation"]}
    if task is Task.RECONSTRUCT:
        drops["detection_f1"] = metrics["keras_detection_f1"] - metrics["detection_f1"]
    else:
        drops["rmse"] = metrics["rmse"] / max(metrics["keras_rmse"], 1e-12) - 1.0
    return drops


def budget_verdict(task: Task, metrics: dict, max_drop: float) -> Verdict:
    drops = _drops(task, metrics)
    metric, drop = max(drops.items(), key=lambda item: item[1])
    within = drop <= max_drop + 1e-12
    collapsed = drop > COLLAPSE_FACTOR * max(max_drop, 0.01)
    verb = "collapsed" if collapsed else "within budget" if within else "over budget"
    reason = f"{metric} {'drop' if metric != 'rmse' else 'rise'} {drop:.4f} vs allowed {max_drop:.4f}: {verb}"
    return Verdict(within, collapsed, metric, drop, reason)
