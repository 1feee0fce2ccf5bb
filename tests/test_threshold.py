"""Threshold calibration: percentile vs false-alarm rate, POT extrapolation, counted false events."""

from __future__ import annotations

import math

import numpy as np
import pytest

from calibration.threshold import ThresholdPolicy, choose_threshold, pot_quantile
from edge.decide import DecisionConfig
from edge.errors import ConfigError, DataError

DECISION = DecisionConfig(1.0, k=3, n=5)


def _linear_quantile(values: np.ndarray, q: float) -> float:
    """The linear-interpolation quantile, written out (numpy's default definition)."""
    ordered = np.sort(values)
    pos = (len(ordered) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return float(ordered[lo] + (pos - lo) * (ordered[hi] - ordered[lo]))


@pytest.fixture(scope="module")
def exp_200k() -> np.ndarray:
    return np.random.default_rng(42).exponential(1.0, 200_000)


def test_resolvable_rate_gives_empirical_quantile_times_margin(exp_200k):
    # 1 alarm/h at 3600 windows/h -> exceed fraction 1/3600; 200k * 1/3600 = 55 windows >= 10: read directly
    policy = ThresholdPolicy(percentile=99.5, false_alarms_per_hour=1.0, margin=1.25)
    choice = choose_threshold(exp_200k, policy, windows_per_hour=3600.0, decision=DECISION)
    expected_rate = _linear_quantile(exp_200k, 1.0 - 1.0 / 3600.0)
    assert choice.rate_value == pytest.approx(expected_rate, rel=1e-12)
    assert choice.rate_value == pytest.approx(math.log(3600.0), rel=0.1)  # true exp(1) quantile
    # the 99.5th percentile (~ln 200 = 5.3) is laxer than ~ln 3600 = 8.2: the rate criterion wins
    assert choice.percentile_value == pytest.approx(_linear_quantile(exp_200k, 0.995), rel=1e-12)
    assert choice.percentile_value < choice.rate_value
    assert choice.method == "false_alarm_rate"
    assert choice.value == pytest.approx(1.25 * expected_rate, rel=1e-12)
    assert choice.margin == 1.25
    assert choice.note == "rate quantile read from the data"
    assert choice.calibration_windows == 200_000
    assert choice.calibration_hours == pytest.approx(200_000 / 3600.0)
    assert choice.target_false_alarms_per_hour == 1.0
    assert choice.to_dict()["value"] == choice.value


def test_percentile_wins_when_stricter(exp_200k):
    # exceed fraction 1/100 (1 alarm/h at 100 windows/h) is the 99th percentile, laxer than the 99.9th
    policy = ThresholdPolicy(percentile=99.9, false_alarms_per_hour=1.0, margin=1.5)
    choice = choose_threshold(exp_200k, policy, windows_per_hour=100.0, decision=DECISION)
    assert choice.rate_value == pytest.approx(_linear_quantile(exp_200k, 0.99), rel=1e-12)
    assert choice.percentile_value == pytest.approx(_linear_quantile(exp_200k, 0.999), rel=1e-12)
    assert choice.method == "percentile"
    assert choice.value == pytest.approx(1.5 * choice.percentile_value, rel=1e-12)
    assert choice.margin == 1.5


@pytest.mark.parametrize("seed", range(5))
def test_pot_extrapolates_exponential_tail(seed):
    loc, scale = 0.5, 2.0
    scores = loc + np.random.default_rng(seed).exponential(scale, 20_000)
    true = loc - scale * math.log(1e-5)  # 23.5; only 20k samples, so 1e-5 is beyond the data
    value = pot_quantile(scores, 1e-5)
    assert value == pytest.approx(true, rel=0.15)
    assert value >= scores.max()


def test_pot_never_below_the_max():
    rng = np.random.default_rng(7)
    scores = rng.exponential(1.0, 5000)
    # a mild exceed fraction lands inside the data (~ the 96th percentile) -> clamped up to the max
    assert pot_quantile(scores, 0.04) == scores.max()
    # one huge outlier: the result is at least that outlier
    spiked = np.append(scores, 1000.0)
    assert pot_quantile(spiked, 1e-6) >= 1000.0
    # too few excesses over the 95th percentile (20 scores -> 1) -> the max itself
    small = rng.exponential(1.0, 20)
    assert pot_quantile(small, 1e-6) == small.max()
    # constant scores: no variance in the tail -> the max
    assert pot_quantile(np.ones(1000), 1e-6) == 1.0


def test_unresolvable_rate_uses_pot():
    # 36000 windows/h (10 Hz, hop 1): 20k windows * 1/36000 = 0.56 < 10 -> extrapolate
    scores = np.random.default_rng(3).exponential(1.0, 20_000)
    policy = ThresholdPolicy(percentile=99.5, false_alarms_per_hour=1.0, margin=1.25)
    choice = choose_threshold(scores, policy, windows_per_hour=36000.0, decision=DECISION)
    assert choice.rate_value == pytest.approx(pot_quantile(scores, 1.0 / 36000.0), rel=1e-12)
    assert choice.rate_value >= scores.max()
    assert choice.method == "false_alarm_rate"
    assert choice.value == pytest.approx(1.25 * choice.rate_value, rel=1e-12)
    assert "generalized Pareto" in choice.note
    assert "0.56 h" in choice.note  # 20000 / 36000 hours


def test_rate_criterion_off_or_unknown_rate():
    scores = np.random.default_rng(4).normal(size=1000)
    off = choose_threshold(scores, ThresholdPolicy(false_alarms_per_hour=None, margin=1.0), 3600.0, DECISION)
    assert off.rate_value is None and off.method == "percentile"
    assert off.note == "false-alarm rate criterion off"
    assert off.value == pytest.approx(_linear_quantile(scores, 0.995))
    unknown = choose_threshold(scores, ThresholdPolicy(), None, DECISION)
    assert unknown.rate_value is None and unknown.method == "percentile"
    assert "sample rate unknown" in unknown.note
    assert unknown.calibration_hours is None
    assert unknown.observed_false_events_per_hour is None
    assert unknown.value == pytest.approx(1.25 * unknown.percentile_value)


def test_rate_allowing_every_window():
    # 1 alarm/h at 0.5 windows/h: exceed fraction 2 >= 1 -> the minimum score; the percentile wins
    scores = np.random.default_rng(5).normal(size=500)
    choice = choose_threshold(scores, ThresholdPolicy(), 0.5, DECISION)
    assert choice.rate_value == scores.min()
    assert choice.note == "target rate allows every window to alarm"
    assert choice.method == "percentile"


def test_fewer_than_twenty_scores_raise_data_error():
    with pytest.raises(DataError, match="at least 20"):
        choose_threshold(np.ones(19), ThresholdPolicy(), 3600.0, DECISION)
    choose_threshold(np.arange(20.0), ThresholdPolicy(), 3600.0, DECISION)  # 20 is enough


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(percentile=49.9),
        dict(percentile=100.1),
        dict(false_alarms_per_hour=0.0),
        dict(false_alarms_per_hour=-1.0),
        dict(margin=0.99),
    ],
)
def test_bad_policy_raises_config_error(kwargs):
    with pytest.raises(ConfigError):
        ThresholdPolicy(**kwargs)


def _bursts(total: int = 10_000, every: int = 1000, length: int = 3) -> np.ndarray:
    """Zeros with ``total // every`` bursts of ``length`` consecutive 5.0 scores."""
    scores = np.zeros(total)
    for start in range(500, total, every):
        scores[start : start + length] = 5.0
    return scores


@pytest.mark.parametrize("hop,events", [(1, 10.0), (2, 5.0), (3, 0.0)])
def test_hop_changes_hours_and_observed_events(hop, events):
    # 10 bursts of 3 consecutive hits; threshold = 99th percentile of mostly zeros = 0 (margin 1).
    # k=2 of n=2 at the device spacing (every hop-th window, each phase counted, then averaged):
    #   hop 1: each burst gives 2+ consecutive hits -> 1 event per burst -> 10
    #   hop 2: burst p,p+1,p+2 -> one phase sees p,p+2 (2 hits in a row), the other only p+1 -> 10/2 = 5
    #   hop 3: each phase sees one hit per burst -> 0
    scores = _bursts()
    policy = ThresholdPolicy(percentile=99.0, false_alarms_per_hour=None, margin=1.0)
    choice = choose_threshold(scores, policy, 3600.0, DecisionConfig(1.0, k=2, n=2), hop=hop)
    assert choice.value == 0.0
    assert choice.calibration_hours == pytest.approx(10_000 / (3600.0 * hop))
    assert choice.observed_false_events == pytest.approx(events)
    assert choice.observed_false_events_per_hour == pytest.approx(events / (10_000 / (3600.0 * hop)))


def test_cooldown_of_the_decision_is_used_when_counting_events():
    # bursts (3 hits) at 500, 1500, ..., 9500; k=2 of n=2, release 2n = 4, cooldown 2000 windows.
    # burst 500 starts at 501 and ends at 506 (4th quiet window) -> no start before 506+1+2000 = 2507,
    # so bursts 1500 and 2500 are suppressed; 3500 starts (quiet until 5507), 4500 and 5500 suppressed;
    # 6500 starts (until 8507), 7500 and 8500 suppressed; 9500 starts -> 4 events
    scores = _bursts()
    policy = ThresholdPolicy(percentile=99.0, false_alarms_per_hour=None, margin=1.0)
    choice = choose_threshold(scores, policy, 3600.0, DecisionConfig(1.0, k=2, n=2, cooldown=2000))
    assert choice.observed_false_events == 4.0


def test_release_of_the_decision_is_used_when_counting_events():
    # each burst: hit, hit, 3 quiet, hit, hit. With k=2 of n=2 and release=1 the first pair starts
    # an event that ends at the first quiet window, and the second pair starts another -> 2 per burst.
    # With the default release (2n = 4) the 3 quiet windows do not end it -> 1 per burst.
    scores = np.zeros(5000)
    for start in range(100, 5000, 1000):
        scores[start : start + 2] = 5.0
        scores[start + 5 : start + 7] = 5.0
    policy = ThresholdPolicy(percentile=99.0, false_alarms_per_hour=None, margin=1.0)
    default = choose_threshold(scores, policy, 3600.0, DecisionConfig(1.0, k=2, n=2))
    assert default.observed_false_events == 5.0
    quick = choose_threshold(scores, policy, 3600.0, DecisionConfig(1.0, k=2, n=2, release=1))
    assert quick.observed_false_events == 10.0
