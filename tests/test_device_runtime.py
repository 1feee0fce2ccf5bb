"""The device runtime: no TensorFlow, INT8 agreement with Keras, stateless windows."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from edge.backends import open_backend
from edge.bundle import load_bundle
from edge.csvdata import read_table
from edge.score import WindowScorer
from calibration.dataset import make_windows
from no_tensorflow import heavy_modules_loaded, run_without_tensorflow


def test_edge_infer_runs_with_tensorflow_unimportable(trained_bundle):
    result = run_without_tensorflow("edge-infer", "--bundle", trained_bundle.bundle,
                                    "--source", f"file:{trained_bundle.data.stream_csv}", "--quiet", timeout=120,
                                    report_loaded=True)
    assert result.returncode == 0, result.stderr
    assert heavy_modules_loaded(result.stderr) == []
    alerts = [json.loads(line) for line in result.stdout.splitlines()]
    starts = [a for a in alerts if a["type"] == "start"]
    assert len(starts) == len(trained_bundle.data.stream.anomalies)


def test_manifest_matches_its_schema_and_records_agreement(trained_bundle):
    manifest = json.loads((trained_bundle.bundle / "manifest.json").read_text())
    schema = json.loads((Path(__file__).resolve().parent.parent / "docs" / "manifest.schema.json").read_text())
    jsonschema.validate(manifest, schema)
    assert set(manifest["variants"]) == {"fp32", "float16", "dynamic", "int8", "int8_unrolled", "onnx",
                                         "onnx_dynamic", "onnx_qdq"}
    chosen = manifest["variants"][manifest["default_variant"]]
    assert chosen["budget"]["within_budget"], chosen["budget"]
    assert manifest["variants"]["int8"]["io"]["input"]["dtype"] == "int8"
    assert manifest["threshold"]["calibration_data"].startswith("held-out part")


def _heldout_windows(trained_bundle):
    bundle = load_bundle(trained_bundle.bundle)
    held = bundle.manifest["model"]["trained_on"]["holdout_rows"]
    table = read_table(trained_bundle.data.normal_csv, bundle.input.columns)
    return bundle, make_windows(table.values[held[0]:held[1]], bundle.input.window, bundle.input.hop)


def test_int8_scores_agree_with_keras_on_heldout_windows(trained_bundle):
    """Tolerance: score correlation >= 0.99 and the same threshold decision on >= 98% of windows."""
    import keras

    bundle, raw = _heldout_windows(trained_bundle)
    model = keras.saving.load_model(trained_bundle.model, compile=False)
    scaled = bundle.scaler.transform(raw)
    reference = np.mean((np.asarray(model.predict(scaled, verbose=0)) - scaled) ** 2, axis=(1, 2))
    variant = bundle.variant("int8")
    scorer = WindowScorer(bundle.scaler, open_backend(variant.format, variant.path))
    int8 = np.array([scorer(w) for w in raw])
    threshold = bundle.decision(variant).threshold
    assert np.corrcoef(reference, int8)[0, 1] >= 0.99
    assert np.mean((reference > threshold) == (int8 > threshold)) >= 0.98
    # and around anomalies, whose values lie outside the ranges INT8 was calibrated on
    stream = read_table(trained_bundle.data.stream_csv, bundle.input.columns).values
    for anomaly in trained_bundle.data.stream.anomalies:
        raw_bad = make_windows(stream[anomaly.start - 90:anomaly.end + 90], bundle.input.window, 1)
        scaled_bad = bundle.scaler.transform(raw_bad)
        ref_bad = np.mean((np.asarray(model.predict(scaled_bad, verbose=0)) - scaled_bad) ** 2, axis=(1, 2))
        int8_bad = np.array([scorer(w) for w in raw_bad])
        assert ref_bad.min() < threshold < ref_bad.max(), anomaly.kind  # the stretch holds both kinds
        assert np.mean((ref_bad > threshold) == (int8_bad > threshold)) >= 0.95, anomaly.kind


@pytest.mark.parametrize("variant", ["int8", "fp32", "dynamic", "onnx"])
def test_the_same_window_twice_gives_the_same_score(trained_bundle, variant):
    """The fused LSTM keeps state across invoke(); the backend must reset it every window."""
    bundle, raw = _heldout_windows(trained_bundle)
    chosen = bundle.variant(variant)
    scorer = WindowScorer(bundle.scaler, open_backend(chosen.format, chosen.path))
    first = [scorer(w) for w in raw[:5]]
    again = [scorer(w) for w in raw[:5]]
    assert first == again
    assert len(set(first)) == 5
