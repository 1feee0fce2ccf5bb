"""Choosing the anomaly threshold from scores of normal data the model did not train on.

Two criteria, the stricter wins: a percentile of the score distribution, and
a target rate of false alarms per hour (given how many windows an hour holds).
The choice and how it was made go into the manifest.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np

from edge.decide import Decider, DecisionConfig, EventKind
from edge.errors import ConfigError, DataError

__all__ = ["ThresholdPolicy", "ThresholdChoice", "choose_threshold", "pot_quantile"]


@dataclass(frozen=True)
class ThresholdPolicy:
    """How strict the threshold is.

    Attributes:
        percentile: the threshold is at least this percentile of normal scores.
        false_alarms_per_hour: target rate of windows over the threshold per hour
            of normal data (``None`` to skip the criterion).
        margin: multiplies the stricter of the two: a safety factor for normal
            variation the calibration data did not show (SKAB's protocol uses 1.5).
    """

    percentile: float = 99.5
    false_alarms_per_hour: float | None = 1.0
    margin: float = 1.25

    def __post_init__(self) -> None:
        if not 50.0 <= self.percentile <= 100.0:
            raise ConfigError(f"threshold percentile must be in [50, 100], got {self.percentile}")
        if self.false_alarms_per_hour is not None and self.false_alarms_per_hour <= 0:
            raise ConfigError("false alarms per hour must be > 0")
        if self.margin < 1.0:
            raise ConfigError(f"threshold margin must be >= 1, got {self.margin}")


@dataclass(frozen=True)
class ThresholdChoice:
    """The chosen threshold and the evidence behind it (stored in the manifest)."""

    value: float
    method: str
    margin: float
    percentile: float
    percentile_value: float
    target_false_alarms_per_hour: float | None
    rate_value: float | None
    calibration_windows: int
    calibration_hours: float | None
    observed_false_events_per_hour: float | None
    observed_false_events: float
    note: str

    def to_dict(self) -> dict:
        return asdict(self)


def choose_threshold(
    scores: np.ndarray,
    policy: ThresholdPolicy,
    windows_per_hour: float | None,
    decision: DecisionConfig,
    hop: int = 1,
) -> ThresholdChoice:
    """Pick the threshold from normal-data ``scores`` and check it with the real decider.

    Args:
        scores: one score per window of normal data, windows ``1`` row apart
            (every window the device could see, whatever its phase).
        policy: percentile, false-alarm target and margin.
        windows_per_hour: windows the device scores per hour (every ``hop`` rows).
        decision: the debounce used to count false events on the calibration data.
        hop: the device's hop; false events are counted at that spacing.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if len(scores) < 20:
        raise DataError(f"calibration needs at least 20 normal windows, got {len(scores)}: give more normal data")
    by_percentile = float(np.percentile(scores, policy.percentile))
    rate_value, note = _rate_threshold(scores, policy, windows_per_hour, hop)
    value = policy.margin * max(by_percentile, rate_value if rate_value is not None else by_percentile)
    method = "percentile" if rate_value is None or by_percentile >= rate_value else "false_alarm_rate"
    config = replace(decision, threshold=value)
    events = sum(_count_events(scores[phase::hop], config) for phase in range(hop)) / hop
    hours = len(scores) / (windows_per_hour * hop) if windows_per_hour else None
    return ThresholdChoice(
        value=value,
        method=method,
        margin=policy.margin,
        percentile=policy.percentile,
        percentile_value=by_percentile,
        target_false_alarms_per_hour=policy.false_alarms_per_hour,
        rate_value=rate_value,
        calibration_windows=len(scores),
        calibration_hours=hours,
        observed_false_events_per_hour=(events / hours) if hours else None,
        observed_false_events=events,
        note=note,
    )


def _rate_threshold(scores: np.ndarray, policy: ThresholdPolicy, windows_per_hour: float | None, hop: int):
    if policy.false_alarms_per_hour is None:
        return None, "false-alarm rate criterion off"
    if not windows_per_hour:
        return None, "sample rate unknown: false-alarm rate criterion skipped"
    exceed_fraction = policy.false_alarms_per_hour / windows_per_hour
    if exceed_fraction >= 1.0:
        return float(scores.min()), "target rate allows every window to alarm"
    if exceed_fraction * len(scores) >= 10:
        return float(np.quantile(scores, 1.0 - exceed_fraction)), "rate quantile read from the data"
    hours = len(scores) / (windows_per_hour * hop)
    value = pot_quantile(scores, exceed_fraction)
    return value, (
        f"calibration data covers {hours:.2f} h, too few windows to read a {policy.false_alarms_per_hour}/h "
        "quantile directly: extrapolated with a generalized Pareto tail (peaks over the 95th percentile)"
    )


def pot_quantile(scores: np.ndarray, exceed_fraction: float, tail_start: float = 95.0) -> float:
    """The score exceeded by ``exceed_fraction`` of windows, from a generalized Pareto tail fit.

    Peaks-over-threshold (as in SPOT, Siffer et al. 2017): the excesses over
    the ``tail_start`` percentile are fitted by the method of moments, which is
    robust for the few hundred excesses calibration usually has.
    """
    base = float(np.percentile(scores, tail_start))
    excesses = scores[scores > base] - base
    if len(excesses) < 10 or excesses.var() <= 0:
        return float(scores.max())
    mean, var = float(excesses.mean()), float(excesses.var())
    shape = 0.5 * (1.0 - mean * mean / var)
    scale = 0.5 * mean * (mean * mean / var + 1.0)
    ratio = exceed_fraction * len(scores) / len(excesses)
    if abs(shape) < 1e-6:
        value = base - scale * np.log(ratio)
    else:
        value = base + scale / shape * (ratio ** (-shape) - 1.0)
    return float(max(value, scores.max()))


def _count_events(scores: np.ndarray, decision: DecisionConfig) -> int:
    decider = Decider(decision)
    return sum(1 for s in scores if (e := decider.update(float(s))) and e.kind is EventKind.START)
