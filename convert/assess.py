"""Scoring every built variant against the Keras model, and the measured choice of the default.

For score tasks (autoencoder, forecaster) each variant also gets its own
threshold, calibrated on its own scores of held-out normal windows, since
INT8 shifts the score scale a little.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from calibration.threshold import ThresholdChoice, ThresholdPolicy, choose_threshold
from convert.evaluate import (budget_verdict, classifier_metrics, f1_score, keras_outputs, probe_anomalies,
                              run_variant, score_metrics, window_scores)
from convert.families import Task
from edge.decide import DecisionConfig
from edge.score import ScoreSpec

__all__ = ["EvalData", "ThresholdContext", "VariantAssessment", "assess_variants", "evenly"]


@dataclass(frozen=True)
class EvalData:
    """Held-out inputs and targets (labels for classifiers; the windows or next rows for score tasks).

    ``calibration`` holds the normal windows the thresholds come from (default: the held-out inputs).
    """

    inputs: np.ndarray
    targets: np.ndarray
    calibration_inputs: np.ndarray | None = None
    calibration_targets: np.ndarray | None = None


@dataclass(frozen=True)
class ThresholdContext:
    policy: ThresholdPolicy
    windows_per_hour: float | None
    decision: DecisionConfig
    hop: int


@dataclass
class VariantAssessment:
    name: str
    metrics: dict
    verdict: dict
    threshold: ThresholdChoice | None = None
    keras_threshold: ThresholdChoice | None = None
    scores: np.ndarray | None = None  # held-out scores, for the report's histogram


def evenly(array: np.ndarray, limit: int) -> np.ndarray:
    """At most ``limit`` items, evenly spaced (keeps the whole time span)."""
    if len(array) <= limit:
        return array
    return array[np.unique(np.linspace(0, len(array) - 1, limit).round().astype(int))]


def assess_variants(task: Task, model, variants: dict[str, tuple[str, Path]], data: EvalData, max_drop: float,
                    thresholds: ThresholdContext | None, spec: ScoreSpec | None = None,
                    step: Callable[[str], None] = lambda _: None) -> dict[str, VariantAssessment]:
    """Metrics, budget verdict (and threshold for score tasks) of each ``{name: (format, path)}``."""
    if task in (Task.CLASSIFY, Task.GENERATE):
        reference = keras_outputs(model, data.inputs)
        results = {}
        for name, (fmt, path) in variants.items():
            step(f"evaluating {name} on {len(data.inputs)} held-out inputs")
            metrics = classifier_metrics(reference, run_variant(fmt, path, data.inputs), data.targets)
            results[name] = VariantAssessment(name, metrics, budget_verdict(task, metrics, max_drop).to_dict())
        return results
    return _assess_scores(task, model, variants, data, max_drop, thresholds, spec or ScoreSpec(), step)


def _assess_scores(task, model, variants, data: EvalData, max_drop, context: ThresholdContext, spec, step):
    calib_in = data.calibration_inputs if data.calibration_inputs is not None else data.inputs
    calib_target = data.calibration_targets if data.calibration_targets is not None else data.targets
    probes_in, probes_target = None, None
    if task is Task.RECONSTRUCT:
        probes_in = probe_anomalies(evenly(data.inputs, 500))
        probes_target = probes_in
    keras = _scores_of(lambda x: keras_outputs(model, x), spec, data, calib_in, calib_target, probes_in, probes_target)
    keras_threshold = _threshold(keras["calibration"], context)
    results = {}
    for name, (fmt, path) in variants.items():
        step(f"scoring {name} on {len(data.inputs)} held-out windows")
        mine = _scores_of(lambda x, fmt=fmt, path=path: run_variant(fmt, path, x), spec, data, calib_in,
                          calib_target, probes_in, probes_target)
        threshold = _threshold(mine["calibration"], context)
        metrics = score_metrics(keras["held_out"], mine["held_out"])
        if task is Task.RECONSTRUCT:
            metrics["keras_detection_f1"] = _detection_f1(keras, keras_threshold.value)
            metrics["detection_f1"] = _detection_f1(mine, threshold.value)
        else:
            metrics["keras_rmse"] = float(np.sqrt(np.mean(keras["held_out"])))
            metrics["rmse"] = float(np.sqrt(np.mean(mine["held_out"])))
        verdict = budget_verdict(task, metrics, max_drop).to_dict()
        results[name] = VariantAssessment(name, metrics, verdict, threshold, keras_threshold, mine["held_out"])
    return results


def _scores_of(outputs_of, spec, data, calib_in, calib_target, probes_in, probes_target) -> dict:
    scores = {"held_out": window_scores(spec, data.inputs, data.targets, outputs_of(data.inputs))}
    same = calib_in is data.inputs
    scores["calibration"] = scores["held_out"] if same else \
        window_scores(spec, calib_in, calib_target, outputs_of(calib_in))
    if probes_in is not None:
        scores["probe_normal"] = evenly(scores["held_out"], 500)
        scores["probes"] = window_scores(spec, probes_in, probes_target, outputs_of(probes_in))
    return scores


def _detection_f1(scores: dict, threshold: float) -> float:
    truth = np.concatenate([np.zeros(len(scores["probe_normal"]), bool), np.ones(len(scores["probes"]), bool)])
    flagged = np.concatenate([scores["probe_normal"], scores["probes"]]) > threshold
    return f1_score(truth, flagged)


def _threshold(scores: np.ndarray, context: ThresholdContext) -> ThresholdChoice:
    return choose_threshold(scores, context.policy, context.windows_per_hour, context.decision, hop=context.hop)
