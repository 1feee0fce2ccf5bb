"""The channel-max score through the real CLI: train records it, convert calibrates with it, the device runs it."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from calibration.dataset import make_windows
from calibration.drift import drift_weights
from calibration.threshold import ThresholdPolicy, choose_threshold
from conftest import run_cli, train_and_convert
from convert.families import get_family
from convert.loading import load_trained
from convert.pipeline import ConvertConfig, score_spec
from convert.train import read_sidecar
from edge.bundle import load_bundle
from edge.csvdata import read_table
from edge.decide import DecisionConfig
from edge.model import load_model
from edge.score import CHANNEL_MAX_MSE, RECONSTRUCTION_MSE, ScoreSpec

SCHEMA = Path(__file__).resolve().parent.parent / "docs" / "manifest.schema.json"


@pytest.fixture(scope="module")
def channel_max_bundle(pump_data, tmp_path_factory):
    """A deliberately tiny model (window 20, 8 units, 2 epochs): the score spec's path is under test, not skill."""
    model, bundle, done = train_and_convert(pump_data.normal_csv, tmp_path_factory.mktemp("channel_max"),
                                            ("--window", "20", "--units", "8", "--epochs", "2", "--score",
                                             "channel-max"))
    assert "score channel_max_mse" in done.stderr
    return model, bundle, pump_data


def _training_rows(sidecar: dict, csv: Path) -> np.ndarray:
    start, end = sidecar["data"]["train_rows"]
    return read_table(csv, sidecar["columns"]).values[start:end]


def test_train_records_drift_weights_of_its_training_rows(channel_max_bundle):
    model, _, data = channel_max_bundle
    sidecar = read_sidecar(model)
    assert sidecar["score"]["kind"] == CHANNEL_MAX_MSE
    assert tuple(sidecar["score"]["channel_weights"]) == drift_weights(_training_rows(sidecar, data.normal_csv))
    assert len(sidecar["score"]["channel_weights"]) == len(sidecar["columns"])


def test_bundle_carries_the_spec_and_the_device_scorer_uses_it(channel_max_bundle):
    model, bundle_dir, _ = channel_max_bundle
    manifest = json.loads((bundle_dir / "manifest.json").read_text())
    jsonschema.validate(manifest, json.loads(SCHEMA.read_text()))
    expected = ScoreSpec.from_dict(read_sidecar(model)["score"])
    bundle = load_bundle(bundle_dir)
    assert bundle.score == expected
    loaded = load_model(bundle, "int8")
    try:
        assert loaded.scorer.spec == expected
    finally:
        loaded.close()


def test_thresholds_were_calibrated_with_the_device_scorer(channel_max_bundle):
    """Re-scoring the held-out tail with edge-infer's scorer reproduces every variant's threshold."""
    _, bundle_dir, data = channel_max_bundle
    bundle = load_bundle(bundle_dir)
    start, end = bundle.manifest["model"]["trained_on"]["holdout_rows"]
    raw = make_windows(read_table(data.normal_csv, bundle.input.columns).values[start:end], bundle.input.window, 1)
    windows_per_hour = 3600.0 * bundle.input.sample_rate / bundle.input.hop
    decision = DecisionConfig(1.0, bundle.k, bundle.n)
    for name in ("int8", "onnx"):
        loaded = load_model(bundle, name)
        try:
            scores = np.array([loaded.scorer(w) for w in raw])
            mse = np.array([float(ScoreSpec().scores(*_scaled_and_output(loaded, w))) for w in raw[::7]])
        finally:
            loaded.close()
        threshold = choose_threshold(scores, ThresholdPolicy(), windows_per_hour, decision, hop=bundle.input.hop)
        assert bundle.variant(name).info["threshold"] == pytest.approx(threshold.value, rel=1e-6)
        assert bundle.variant(name).info["agreement_with_keras"]["score_correlation"] > 0.95
        assert not np.allclose(scores[::7], mse, rtol=0.05)  # the spec changed the score, not only its label


def _scaled_and_output(loaded, raw_window):
    scaled = loaded.bundle.scaler.transform(raw_window)
    return scaled, loaded.backend.run(scaled[None])


def test_convert_score_option_recomputes_weights_from_the_training_rows(trained_bundle):
    """The session model was trained with the default (mse); ``convert --score channel-max`` overrides it."""
    sidecar = read_sidecar(trained_bundle.model)
    assert ScoreSpec.from_dict(sidecar["score"]).kind == RECONSTRUCTION_MSE
    loaded, family = load_trained(trained_bundle.model), get_family(sidecar["family"])
    data = trained_bundle.data.normal_csv
    rows = _training_rows(sidecar, data)
    assert score_spec(family, loaded, data, ConvertConfig(score="channel-max")) == \
        ScoreSpec(CHANNEL_MAX_MSE, drift_weights(rows))
    assert score_spec(family, loaded, data, ConvertConfig()) == ScoreSpec()


def test_unknown_score_choice_is_one_line(trained_bundle, tmp_path):
    done = run_cli("edgewatch.cli", "convert", "--model", str(trained_bundle.model),
                   "--data", str(trained_bundle.data.normal_csv), "--out", str(tmp_path / "b"), "--score", "max")
    assert done.returncode == 1
    assert "--score must be one of mse, channel-max" in done.stderr and "Traceback" not in done.stderr
