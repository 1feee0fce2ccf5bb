"""The runtime heads: how the device turns each family's output into a score and a decision.

Forecaster: error of the forecast of the window's last row; classifier: probability of the
likeliest non-background label; generator: refused by edge-infer (it is sampled by
``edgewatch generate``). Checked against Keras on the host, and through ``edge-infer`` with
TensorFlow made unimportable.
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from edge.backends import open_backend
from edge.bundle import load_bundle
from edge.errors import ConfigError
from edge.score import CLASS_CONFIDENCE, FORECAST_MSE, NEXT_TOKEN, ScoreSpec, WindowScorer
from no_tensorflow import run_without_tensorflow

def _edge_infer(*args):
    return run_without_tensorflow("edge-infer", *args)


def _raw_rows(path, columns):
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    return np.asarray([[float(r[c]) for c in columns] for r in rows], np.float32), rows


def test_forecaster_scores_the_error_of_its_forecast(family_bundles):
    import keras

    fb = family_bundles["lstm_forecaster"]
    bundle = load_bundle(fb.bundle)
    assert bundle.score == ScoreSpec(FORECAST_MSE, horizon=1)
    assert bundle.input.window == fb.manifest["model"]["architecture"]["window"] + 1  # model window + horizon
    values, _ = _raw_rows(fb.data, bundle.input.columns)
    windows = np.stack([values[i:i + bundle.input.window] for i in range(0, 400, 37)])
    scaled = bundle.scaler.transform(windows)
    model = keras.saving.load_model(fb.model, compile=False)
    forecast = np.asarray(model.predict(scaled[:, :-1], verbose=0)).reshape(len(windows), -1)
    expected = np.mean((forecast - scaled[:, -1]) ** 2, axis=1)
    variant = bundle.variant("fp32")
    scorer = WindowScorer(bundle.scaler, open_backend(variant.format, variant.path), bundle.score)
    assert np.allclose([scorer(w) for w in windows], expected, rtol=1e-3, atol=1e-6)


def test_classifier_scores_the_confidence_of_a_non_background_label(family_bundles):
    import keras

    fb = family_bundles["lstm_classifier"]
    bundle = load_bundle(fb.bundle)
    labels = fb.manifest["labels"]
    assert bundle.score == ScoreSpec(CLASS_CONFIDENCE, background=labels.index("background"))
    assert fb.manifest["score"]["background"] == "background" and bundle.threshold == 0.8
    values, rows = _raw_rows(fb.data, bundle.input.columns)
    starts = [i for i in range(0, len(rows) - bundle.input.window, 29)
              if len({r["label"] for r in rows[i:i + bundle.input.window]}) == 1]
    windows = np.stack([values[i:i + bundle.input.window] for i in starts])
    truth = np.array([rows[i]["label"] != "background" for i in starts])
    probabilities = np.asarray(keras.saving.load_model(fb.model, compile=False).predict(
        bundle.scaler.transform(windows), verbose=0))
    expected = np.delete(probabilities, labels.index("background"), axis=1).max(axis=1)
    variant = bundle.variant("fp32")
    scores = np.array([WindowScorer(bundle.scaler, open_backend(variant.format, variant.path), bundle.score)(w)
                       for w in windows])
    assert np.allclose(scores, expected, atol=1e-4)
    assert scores[truth].mean() > scores[~truth].mean() + 0.3  # events score high, background low


def test_edge_infer_raises_events_on_a_classifier_bundle(family_bundles, tmp_path):
    fb = family_bundles["lstm_classifier"]
    done = _edge_infer("--bundle", str(fb.bundle), "--source", f"file:{fb.data}", "--quiet", "--variant", "fp32")
    assert done.returncode == 0, done.stderr[-2000:]
    starts = [a for a in map(json.loads, done.stdout.splitlines()) if a["type"] == "start"]
    assert starts, "no event on a stream full of knocks and hums"
    with open(fb.data, newline="") as handle:
        labels = [r["label"] for r in csv.DictReader(handle)]
    for alert in starts:  # every event started on windows holding a non-background label
        assert set(labels[alert["window_start"]:alert["window_end"]]) != {"background"}, alert
        assert alert["score"] >= 0.8


def test_edge_infer_runs_a_forecaster_and_refuses_a_generator(family_bundles):
    fb = family_bundles["lstm_forecaster"]
    done = _edge_infer("--bundle", str(fb.bundle), "--source", f"file:{fb.data}", "--quiet")
    assert done.returncode == 0, done.stderr[-2000:]
    generator = _edge_infer("--bundle", str(family_bundles["char_generator"].bundle), "--source", f"file:{fb.data}")
    assert generator.returncode == 1 and "edgewatch generate" in generator.stderr
    assert "Traceback" not in generator.stderr


def test_score_spec_round_trips_the_new_heads():
    for spec in (ScoreSpec(FORECAST_MSE, horizon=3), ScoreSpec(CLASS_CONFIDENCE, background=0),
                 ScoreSpec(CLASS_CONFIDENCE), ScoreSpec(NEXT_TOKEN)):
        assert ScoreSpec.from_dict(spec.to_dict()) == spec
    scaled = np.arange(12, dtype=np.float32).reshape(4, 3)
    assert ScoreSpec(FORECAST_MSE, horizon=2).model_input(scaled).shape == (2, 3)
    assert ScoreSpec(FORECAST_MSE, horizon=2).scores(scaled, scaled[-2:] + 1.0) == pytest.approx(1.0)
    assert ScoreSpec(CLASS_CONFIDENCE, background=1).scores(scaled, np.array([0.1, 0.7, 0.2])) == pytest.approx(0.2)
    with pytest.raises(ConfigError):
        ScoreSpec(FORECAST_MSE, horizon=0)
