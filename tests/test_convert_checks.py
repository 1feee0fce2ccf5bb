"""Pre-flight, layer checks, models without a sidecar, pruning, the representative dataset, bench and generate."""

from __future__ import annotations

import json

import numpy as np
import pytest

from calibration.dataset import CalibrationMethod, RepresentativeDataset
from edge.choice import Candidate, choose_default
from edge.errors import ConfigError
from no_tensorflow import run_without_tensorflow


def test_preflight_rejects_a_flex_op_by_name(tmp_path):
    import tensorflow as tf
    import tf_keras

    from convert.export import Precision, to_tflite
    from convert.preflight import PreflightError, preflight_artifact

    inputs = tf_keras.Input((10, 3), batch_size=1)
    cumulative = tf_keras.layers.Lambda(lambda t: tf.math.cumprod(t, axis=1))(inputs)  # no builtin: Flex only
    model = tf_keras.Model(inputs, tf_keras.layers.LSTM(4)(cumulative))
    path = tmp_path / "flex.tflite"
    path.write_bytes(to_tflite(model, Precision.FP32))
    with pytest.raises(PreflightError) as exc:
        preflight_artifact(path, "tflite")
    message = str(exc.value)
    assert "FlexCumprod" in message and "\n" not in message and "replace the layer" in message


def _litert_outputs(content: bytes, windows: np.ndarray) -> np.ndarray:
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=content, num_threads=1)
    interpreter.allocate_tensors()
    (inp,), (out,) = interpreter.get_input_details(), interpreter.get_output_details()
    outputs = []
    for window in windows:
        interpreter.reset_all_variables()
        interpreter.set_tensor(inp["index"], window[None])
        interpreter.invoke()
        outputs.append(interpreter.get_tensor(out["index"])[0].copy())
    return np.stack(outputs)


def test_tflite_files_keep_only_what_runtimes_read(tmp_path):
    import tensorflow as tf
    import tf_keras
    from tensorflow.lite.tools import flatbuffer_utils

    from convert.export import Precision, compact_tflite, to_tflite

    tf_keras.utils.set_random_seed(3)
    inputs = tf_keras.Input((12, 5), batch_size=1)
    hidden = tf_keras.layers.GRU(40, bias_initializer="random_normal")(inputs)  # a WHILE loop, float biases
    model = tf_keras.Model(inputs, tf_keras.layers.Dense(3, activation="softmax")(hidden))
    windows = np.random.default_rng(0).normal(size=(20, 12, 5)).astype(np.float32)
    for precision in (Precision.FP32, Precision.DYNAMIC):
        converter = tf.lite.TFLiteConverter.from_keras_model(model)
        if precision is Precision.DYNAMIC:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.experimental_new_dynamic_range_quantizer = False
        raw = converter.convert()
        compact = compact_tflite(raw)
        assert len(compact) < len(raw) - 300  # names, signatures and ~60 empty quantization tables
        assert np.array_equal(_litert_outputs(compact, windows), _litert_outputs(raw, windows))
        made = flatbuffer_utils.convert_bytearray_to_object(bytearray(to_tflite(model, precision)))
        tensors = [t for subgraph in made.subgraphs for t in subgraph.tensors]
        assert all(t.quantization is None or len(t.quantization.scale) for t in tensors)
        assert [m.name for m in made.metadata] == [b"min_runtime_version"]  # the converter's record is left out
        quantized = [t for t in tensors if t.type == 9]  # INT8 weights keep their scale
        assert bool(quantized) == (precision is Precision.DYNAMIC)
        assert all(len(t.quantization.scale) == 1 for t in quantized)


def test_preflight_lists_ops_and_tflm_support(family_bundles):
    from convert.preflight import preflight_artifact

    bundle = family_bundles["lstm_forecaster"].bundle
    result = preflight_artifact(bundle / "model_int8.tflite", "tflite")
    assert "UNIDIRECTIONAL_SEQUENCE_LSTM" in result.ops
    assert result.targets["litert"]["ok"] and result.targets["tflite_micro"]["ok"]
    onnx = preflight_artifact(bundle / "model_dynamic.onnx", "onnx")
    assert "com.microsoft.DynamicQuantizeLSTM" in onnx.ops and onnx.targets["onnxruntime"]["ok"]


def test_unsupported_layers_are_named_before_conversion():
    import keras

    from convert.layer_check import UnsupportedLayersError, check_layers

    inputs = keras.Input((12, 3))
    outputs = keras.layers.Bidirectional(keras.layers.LSTM(4, return_state=True), name="bi")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2, name="head")(outputs[0]))
    with pytest.raises(UnsupportedLayersError) as exc:
        check_layers(model)
    assert "bi (Bidirectional + return_state)" in str(exc.value) and "fix:" in str(exc.value)
    advice = check_layers(keras.Sequential([keras.Input((5, 2)), keras.layers.TimeDistributed(keras.layers.Dense(3))]))
    assert advice and "Dense on the 3-D tensor" in advice[0].fix and not advice[0].blocking


def test_loaded_h5_and_onnx_go_through_the_same_path(family_bundles, tmp_path):
    import keras
    import tensorflow as tf
    import tf2onnx

    from convert.foreign import ForeignOptions
    from convert.pipeline import ConvertConfig, convert_model

    fb = family_bundles["lstm_classifier"]
    model = keras.saving.load_model(fb.model, compile=False)
    model.save(tmp_path / "theirs.h5")
    spec = (tf.TensorSpec((None, *model.inputs[0].shape[1:]), tf.float32, name="x"),)
    tf2onnx.convert.from_keras(model, input_signature=spec, opset=17, output_path=str(tmp_path / "theirs.onnx"))
    config = ConvertConfig(variants=("fp32", "int8", "onnx", "onnx_dynamic"), latency_repeats=20, plots=False)
    foreign = ForeignOptions("lstm_classifier")
    h5 = convert_model(tmp_path / "theirs.h5", fb.data, tmp_path / "b_h5", config, lambda _: None, foreign)
    assert set(h5["variants"]) == {"fp32", "int8", "onnx", "onnx_dynamic"}
    assert h5["variants"]["fp32"]["metrics"]["argmax_agreement"] == 1.0
    assert "UNIDIRECTIONAL_SEQUENCE_LSTM" in h5["variants"]["int8"]["ops"]  # the fused route, from a foreign file
    onnx = convert_model(tmp_path / "theirs.onnx", fb.data, tmp_path / "b_onnx", config, lambda _: None, foreign)
    assert set(onnx["variants"]) == {"onnx", "onnx_dynamic"}
    assert "TFLite variants need the Keras model" in onnx["skipped_variants"]["fp32"]
    assert onnx["variants"]["onnx_dynamic"]["metrics"]["argmax_agreement"] >= 0.9


def test_structured_pruning_shrinks_and_unstructured_only_compresses(family_bundles):
    from convert.data import DataOptions
    from convert.families import get_family
    from convert.loading import load_trained
    from convert.pipeline import PruneConfig
    from convert.prune import prune_model
    from convert.recipes import load_dataset

    fb = family_bundles["lstm_classifier"]
    loaded = load_trained(fb.model)
    family = get_family("lstm_classifier")
    dataset = load_dataset(family.name, fb.data, DataOptions(**loaded.sidecar["options"]), scaler=loaded.scaler)
    pruned, report = prune_model(loaded, family, dataset, PruneConfig(0.5, "structured", 1))
    assert pruned.spec.units == 6 and report["after"]["params"] < report["before"]["params"] / 2
    assert report["after"]["fp32_tflite_bytes"] < report["before"]["fp32_tflite_bytes"]
    sparse, report = prune_model(loaded, family, dataset, PruneConfig(0.5, "unstructured", 2))
    assert report["after"]["sparsity"] >= 0.45
    assert report["after"]["fp32_tflite_bytes"] == report["before"]["fp32_tflite_bytes"]
    assert report["after"]["fp32_tflite_gzip_bytes"] < report["before"]["fp32_tflite_gzip_bytes"]


def test_representative_dataset_is_stratified_and_rewinds():
    inputs = np.arange(1000, dtype=np.float32).reshape(1000, 1, 1)
    strata = np.array([0] * 900 + [1] * 100)
    dataset = RepresentativeDataset(inputs, count=50, strata=strata)
    first = [int(w[0, 0, 0]) for w in dataset]
    assert first == [int(w[0, 0, 0]) for w in dataset]  # iterating again starts over
    assert len(first) == 50 and sum(v >= 900 for v in first) == 5  # each stratum keeps its share
    rare = RepresentativeDataset(inputs, count=50, strata=np.array([0] * 995 + [1] * 5))
    assert any(int(w[0, 0, 0]) >= 995 for w in rare)  # even a 0.5 % class is represented
    assert min(first) == 0 and max(first) == 999  # spread over each stratum
    assert CalibrationMethod.parse("Entropy") is CalibrationMethod.ENTROPY
    with pytest.raises(ConfigError):
        CalibrationMethod.parse("mse")


def test_choice_takes_the_smallest_of_the_fastest_within_budget():
    candidates = [Candidate("fp32", 100, 1.00, True), Candidate("int8", 25, 8.0, True),
                  Candidate("dynamic", 30, 1.05, True), Candidate("tiny", 10, 0.5, False)]
    assert choose_default(candidates) == "dynamic"  # within 25 % of the fastest eligible, and smaller
    assert choose_default(candidates, tolerance=0.0) == "fp32"
    assert choose_default([Candidate("x", 1, 1.0, False)]) is None


def _device_cli(*args):
    return run_without_tensorflow("edgewatch", *args)


def test_bench_repick_rewrites_the_default_on_the_device(family_bundles, tmp_path):
    import shutil

    from edge.bundle import load_bundle

    bundle = tmp_path / "bundle"
    shutil.copytree(family_bundles["lstm_classifier"].bundle, bundle)
    manifest_path = bundle / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["default_variant"] = "int8_unrolled"  # pretend the host chose the unrolled graph
    manifest_path.write_text(json.dumps(manifest))
    done = _device_cli("bench", "--bundle", str(bundle), "--repick", "--repeats", "60")
    assert done.returncode == 0, done.stderr
    after = load_bundle(bundle)  # every sha256 still verifies
    assert after.default_variant != "int8_unrolled"  # 2-50x larger than the others at a similar speed
    assert after.manifest["choice"]["device"]["previous"] == "int8_unrolled"
    assert set(after.manifest["choice"]["device"]["latency_ms"]) == set(after.variants)


def test_generate_samples_text_on_the_device_runtime(family_bundles):
    bundle = str(family_bundles["char_generator"].bundle)
    first = _device_cli("generate", "--bundle", bundle, "--prompt", "the pump ", "--temperature", "0.5",
                        "--length", "40", "--seed", "3")
    again = _device_cli("generate", "--bundle", bundle, "--prompt", "the pump ", "--temperature", "0.5",
                        "--length", "40", "--seed", "3")
    assert first.returncode == 0, first.stderr
    text = first.stdout.rstrip("\n")
    assert text.startswith("the pump ") and len(text) == len("the pump ") + 40
    assert first.stdout == again.stdout
    vocabulary = set(family_bundles["char_generator"].manifest["text"]["vocabulary"])
    assert set(text) <= vocabulary
    wrong = _device_cli("generate", "--bundle", str(family_bundles["lstm_classifier"].bundle))
    assert wrong.returncode == 1 and "not a character generator" in wrong.stderr


def test_cli_trains_a_classifier_and_converts_it_pruned(tmp_path):
    from conftest import run_cli
    from edgewatch.synth_data import write_labelled_events

    data = write_labelled_events(tmp_path / "events.csv", rows=2000)
    model = tmp_path / "gru.keras"
    done = run_cli("edgewatch.cli", "train", "classifier", "--cell", "gru", "--data", str(data), "--out", str(model),
                   "--window", "20", "--units", "8", "--epochs", "2")
    assert done.returncode == 0, done.stderr[-2000:]
    sidecar = json.loads(model.with_suffix(".edgewatch.json").read_text())
    assert sidecar["family"] == "gru_classifier" and sidecar["labels"] == ["background", "hum", "knock"]
    done = run_cli("edgewatch.cli", "convert", "--model", str(model), "--data", str(data), "--out",
                   str(tmp_path / "bundle"), "--variants", "fp32,dynamic,onnx", "--prune", "0.5", "--prune-epochs", "1",
                   "--max-drop", "0.01", "--no-plots")
    assert done.returncode == 0, done.stderr[-2000:]
    manifest = json.loads((tmp_path / "bundle" / "manifest.json").read_text())
    assert manifest["model"]["architecture"]["units"] == 4 and manifest["pruning"]["kind"] == "structured"
    assert manifest["choice"]["max_drop"] == 0.01 and set(manifest["variants"]) == {"fp32", "dynamic", "onnx"}
    assert "default:" in done.stderr and manifest["default_variant"] in done.stderr  # the terminal table
    bad = run_cli("edgewatch.cli", "convert", "--model", str(model), "--data", str(data), "--out",
                  str(tmp_path / "b2"), "--variants", "fp32,int4")
    assert bad.returncode == 1 and "unknown variant(s) int4" in bad.stderr
