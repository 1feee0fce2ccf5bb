"""Window scores (edge/score.py) and drift weights (calibration/drift.py): pure numpy."""

from __future__ import annotations

import numpy as np
import pytest

from calibration.drift import DriftConfig, drift_ratios, drift_weights, score_spec_for
from edge.errors import ConfigError, DataError
from edge.score import (
    CHANNEL_MAX_MSE, RECONSTRUCTION_MSE, ScoreSpec, WindowScorer, channel_max_mse, reconstruction_error,
    reconstruction_mse,
)
from edge.scaler import StandardScaler


def _window_pair(rng, batch=()):
    scaled = rng.standard_normal((*batch, 10, 4)).astype(np.float32)
    return scaled, scaled + rng.standard_normal(scaled.shape).astype(np.float32) * 0.1


def test_mse_is_the_mean_squared_residual():
    scaled = np.zeros((2, 3), np.float32)
    output = np.array([[1, 0, 0], [0, 2, 0]], np.float32)
    assert reconstruction_mse(scaled, output) == pytest.approx(5 / 6)
    assert reconstruction_error(scaled, output[None]) == pytest.approx(5 / 6)  # backend output has a batch axis


def test_channel_max_keeps_one_channel_anomaly_whole():
    scaled = np.zeros((10, 4), np.float32)
    output = scaled.copy()
    output[:, 2] = 1.0  # one of four channels reconstructs badly
    assert channel_max_mse(scaled, output) == pytest.approx(1.0)
    assert reconstruction_mse(scaled, output) == pytest.approx(0.25)  # diluted by the three good channels


def test_weights_multiply_the_residual_before_squaring():
    scaled = np.zeros((5, 2), np.float32)
    output = np.ones((5, 2), np.float32) * np.array([1.0, 3.0], np.float32)
    assert channel_max_mse(scaled, output) == pytest.approx(9.0)
    assert channel_max_mse(scaled, output, (1.0, 0.25)) == pytest.approx(1.0)  # (3 * 0.25)^2 < 1
    assert reconstruction_mse(scaled, output, (1.0, 1 / 3)) == pytest.approx(1.0)


@pytest.mark.parametrize("kind", [RECONSTRUCTION_MSE, CHANNEL_MAX_MSE])
def test_a_batch_scores_like_its_windows_one_by_one(kind):
    rng = np.random.default_rng(0)
    scaled, output = _window_pair(rng, (6,))
    spec = ScoreSpec(kind, (1.0, 0.5, 2.0, 1.0))
    batch = spec.scores(scaled, output)
    assert batch.shape == (6,)
    np.testing.assert_allclose(batch, [spec.scores(s, o) for s, o in zip(scaled, output)], rtol=1e-6)


def test_spec_round_trips_and_old_manifests_mean_mse():
    spec = ScoreSpec(CHANNEL_MAX_MSE, (1.0, 0.2, 0.5))
    assert ScoreSpec.from_dict(spec.to_dict()) == spec
    assert ScoreSpec.from_dict(None) == ScoreSpec(RECONSTRUCTION_MSE, None)
    assert ScoreSpec.from_dict({"kind": "reconstruction_mse", "description": "old text"}) == ScoreSpec()


@pytest.mark.parametrize("kind, weights, words", [
    ("isolation_forest", None, "unknown score kind"),
    (CHANNEL_MAX_MSE, (1.0, 0.0), "finite and > 0"),
    (CHANNEL_MAX_MSE, (1.0, float("nan")), "finite and > 0"),
    (CHANNEL_MAX_MSE, (), "finite and > 0"),
])
def test_bad_specs_are_config_errors(kind, weights, words):
    with pytest.raises(ConfigError, match=words):
        ScoreSpec(kind, weights)


def test_weights_must_match_the_channels():
    ScoreSpec(CHANNEL_MAX_MSE, (1.0, 1.0)).check_channels(2)
    ScoreSpec(CHANNEL_MAX_MSE).check_channels(7)
    with pytest.raises(ConfigError, match="2 channel weights for 3 channels"):
        ScoreSpec(CHANNEL_MAX_MSE, (1.0, 1.0)).check_channels(3)


class _Echo:
    """A backend seam: 'reconstructs' its input plus a fixed offset on channel 1."""

    def run(self, window):
        out = np.array(window, copy=True)
        out[..., 1] += 2.0
        return out


def test_window_scorer_scales_then_scores_with_its_spec():
    scaler = StandardScaler((10.0, 0.0), (2.0, 1.0))
    raw = np.full((4, 2), 10.0, np.float32)
    assert WindowScorer(scaler, _Echo())(raw) == pytest.approx(2.0)  # mean of 0 and 4
    assert WindowScorer(scaler, _Echo(), ScoreSpec(CHANNEL_MAX_MSE))(raw) == pytest.approx(4.0)
    assert WindowScorer(scaler, _Echo(), ScoreSpec(CHANNEL_MAX_MSE, (1.0, 0.5)))(raw) == pytest.approx(1.0)


# -- drift weights ---------------------------------------------------------------------------------


def _sensors(rows=400, seed=3):
    """Column 0 white noise, column 1 a slow random walk (a temperature), column 2 constant."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(rows)
    walk = np.cumsum(rng.standard_normal(rows)) * 0.05 + 0.02 * rng.standard_normal(rows)
    return np.stack([noise, walk, np.full(rows, 7.0)], axis=1)


def test_independent_samples_have_ratio_near_one_and_a_drifting_sensor_far_above():
    ratios = drift_ratios(_sensors(), block=25)
    assert 0.99 <= ratios[0] < 2.0
    assert ratios[1] > 3.0  # over the default cut
    assert ratios[2] == 1.0


def test_only_channels_over_the_cut_are_down_weighted_by_their_ratio():
    rows = _sensors()
    ratios = drift_ratios(rows, 25)
    weights = drift_weights(rows, DriftConfig(block=25, cut=3.0))
    assert weights[0] == 1.0 and weights[2] == 1.0
    assert weights[1] == pytest.approx(1.0 / ratios[1])
    assert drift_weights(rows, DriftConfig(block=25, cut=ratios[1] + 1)) == (1.0, 1.0, 1.0)


def test_drift_is_invariant_to_units():
    rows = _sensors()
    np.testing.assert_allclose(drift_ratios(rows * [3.0, 1000.0, 1.0] + 50.0), drift_ratios(rows))


def test_too_few_rows_for_the_blocks_is_a_data_error():
    with pytest.raises(DataError, match="at least 100 training rows"):
        drift_ratios(_sensors(rows=99), block=25)


def test_score_choices():
    rows = _sensors()
    assert score_spec_for("mse", rows) == ScoreSpec()
    spec = score_spec_for("channel-max", rows)
    assert spec.kind == CHANNEL_MAX_MSE and spec.channel_weights == drift_weights(rows)
    with pytest.raises(ConfigError, match="--score must be one of mse, channel-max"):
        score_spec_for("max", rows)
