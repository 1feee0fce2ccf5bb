"""Every family, every variant, on its real runtime against Keras; pre-flight; the measured choice; foreign models.

Tolerances on held-out inputs (tiny models trained for 4 epochs):
    FP32 TFLite / ONNX       outputs within 1e-4 of Keras
    float16 / dynamic        outputs within 2e-2
    INT8 (fused, unrolled, ONNX dynamic/QDQ)
                             classifiers: argmax agreement >= 0.9; forecasts within 0.1 RMS (scaled units)
(the autoencoder's variants are checked on the session's trained_bundle in test_device_runtime.py)
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from convert.data import DataOptions
from convert.families import Task, get_family
from convert.recipes import load_dataset
from edge.backends import open_backend
from edge.bundle import load_bundle
from edge.choice import Candidate, choose_default
from edge.scaler import StandardScaler

FLOAT_EXACT = {"fp32", "onnx"}
FLOAT_LOOSE = {"float16", "dynamic"}


def _held_out(fb, count=60):
    sidecar = json.loads(fb.model.with_suffix(".edgewatch.json").read_text())
    options = DataOptions(**sidecar["options"])
    dataset = load_dataset(fb.family, fb.data, options, scaler=StandardScaler.from_dict(sidecar["scaler"]))
    picks = np.linspace(0, len(dataset.x_test) - 1, min(count, len(dataset.x_test))).astype(int)
    return dataset.x_test[picks], dataset.y_test[picks]


@pytest.mark.parametrize("family", ["lstm_classifier", "gru_classifier", "bilstm_classifier", "lstm_forecaster",
                                    "cnn_lstm", "text_classifier", "char_generator"])
def test_every_variant_runs_on_its_runtime_and_follows_keras(family_bundles, family):
    import keras

    fb = family_bundles[family]
    model = keras.saving.load_model(fb.model, compile=False)
    inputs, targets = _held_out(fb)
    reference = np.asarray(model.predict(inputs, verbose=0)).reshape(len(inputs), -1)
    task = get_family(family).task
    bundle = load_bundle(fb.bundle)
    assert bundle.variants, "no variant was built"
    for name, variant in bundle.variants.items():
        backend = open_backend(variant.format, variant.path)
        outputs = np.stack([np.asarray(backend.run(x[None]), np.float32).reshape(-1) for x in inputs])
        backend.close()
        if name in FLOAT_EXACT:
            assert np.abs(outputs - reference).max() <= 1e-4, name
        elif name in FLOAT_LOOSE:
            assert np.abs(outputs - reference).max() <= 2e-2, name
        elif task in (Task.CLASSIFY, Task.GENERATE):
            assert np.mean(outputs.argmax(1) == reference.argmax(1)) >= 0.9, name
        else:  # forecasts: INT8 within 0.1 RMS (scaled units, i.e. a tenth of a standard deviation) of Keras
            assert np.sqrt(np.mean((outputs - reference) ** 2)) <= 0.1, name
        recorded = fb.manifest["variants"][name]
        assert recorded["ops"] and not any(op.startswith("Flex") for op in recorded["ops"]), name
        assert recorded["budget"]["reason"], name


def test_int8_variants_really_are_int8(family_bundles):
    manifest = family_bundles["lstm_classifier"].manifest
    assert manifest["variants"]["int8"]["io"]["input"]["dtype"] == "int8"
    assert "UNIDIRECTIONAL_SEQUENCE_LSTM" in manifest["variants"]["int8"]["ops"]
    assert "UNIDIRECTIONAL_SEQUENCE_LSTM" not in manifest["variants"]["int8_unrolled"]["ops"]
    assert "com.microsoft.DynamicQuantizeLSTM" in manifest["variants"]["onnx_dynamic"]["ops"]
    import onnx
    from onnx import numpy_helper

    qdq = onnx.load(str(family_bundles["lstm_classifier"].bundle / "model_qdq.onnx"))
    lstm = next(node for node in qdq.graph.node if node.op_type == "LSTM")
    producers = {out: node for node in qdq.graph.node for out in node.output}
    weights = producers[lstm.input[1]]  # W comes through a DequantizeLinear of an INT8 initializer
    assert weights.op_type == "DequantizeLinear"
    init = {i.name: numpy_helper.to_array(i) for i in qdq.graph.initializer}
    assert init[weights.input[0]].dtype == np.int8


def test_gru_full_int8_is_skipped_with_the_reason(family_bundles):
    manifest = family_bundles["gru_classifier"].manifest
    assert "int8" not in manifest["variants"]
    assert "WHILE" in manifest["skipped_variants"]["int8"] or "GRU" in manifest["skipped_variants"]["int8"]
    assert "int8_unrolled" in manifest["variants"]


def test_default_is_the_smallest_among_the_fastest_within_budget(family_bundles):
    for fb in family_bundles.values():
        variants = fb.manifest["variants"]
        candidates = [Candidate(n, v["bytes"], v["latency_ms_host"], v["budget"]["within_budget"])
                      for n, v in variants.items()]
        assert fb.manifest["default_variant"] == choose_default(candidates, 0.25), fb.family
        assert variants[fb.manifest["default_variant"]]["budget"]["within_budget"], fb.family


def test_report_has_json_and_plots(family_bundles):
    report_dir = family_bundles["lstm_classifier"].bundle / "report"
    report = json.loads((report_dir / "report.json").read_text())
    assert report["default_variant"] == family_bundles["lstm_classifier"].manifest["default_variant"]
    assert report["latency_ms"]["keras_eager"]["median_ms"] > 0
    for name in ("sizes_latency.png", "agreement.png"):
        assert (report_dir / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_manifest_of_each_family_matches_the_schema(family_bundles):
    import jsonschema
    from pathlib import Path

    schema = json.loads((Path(__file__).resolve().parent.parent / "docs" / "manifest.schema.json").read_text())
    for fb in family_bundles.values():
        jsonschema.validate(fb.manifest, schema)
    assert family_bundles["char_generator"].manifest["text"]["kind"] == "chars"
    score = family_bundles["lstm_forecaster"].manifest["score"]
    assert (score["kind"], score["horizon"], score["channel_weights"]) == ("forecast_mse", 1, None)
