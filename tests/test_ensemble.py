"""``--members N``: N autoencoders averaged in one graph, trained each on its own error, one INT8 artifact.

The fixture's bundle is also converted with ``--end-ratio 10``, which the manifest must carry to the device.

The CLI path trains a deliberately tiny ensemble (2 members, 4 units, 2 epochs): what is under test
is that the members are separate models whose mean the device runs, not detection skill.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter

from calibration.dataset import RepresentativeDataset, make_windows
from conftest import run_cli, train_and_convert
from convert import _deps
from convert.autoencoder import AutoencoderSpec, build_autoencoder, member_targets, members_view
from convert.export import Precision, rebuild_batch1, to_tflite
from convert.train import read_sidecar
from edge.bundle import load_bundle
from edge.csvdata import read_table
from edge.model import load_model


@pytest.fixture(scope="module")
def ensemble_bundle(pump_data, tmp_path_factory):
    model, bundle, _ = train_and_convert(pump_data.normal_csv, tmp_path_factory.mktemp("ensemble"),
                                         ("--window", "10", "--units", "4", "--epochs", "2", "--members", "2"),
                                         ("--end-ratio", "10"))
    return model, bundle, pump_data


def _member_outputs(keras, model, spec, windows):
    view = members_view(keras, model, spec)
    out = np.asarray(view.predict(windows, verbose=0))
    return np.split(out, spec.members, axis=-1)


def test_output_is_the_mean_of_members_that_differ(ensemble_bundle):
    model_path, _, data = ensemble_bundle
    keras = _deps.keras()
    model = keras.saving.load_model(model_path, compile=False)
    sidecar = read_sidecar(model_path)
    spec = AutoencoderSpec(**sidecar["architecture"])
    assert spec.members == 2
    values = read_table(data.normal_csv, sidecar["columns"]).values[:200]
    from edge.scaler import StandardScaler

    windows = StandardScaler.from_dict(sidecar["scaler"]).transform(make_windows(values, spec.window, 5))
    first, second = _member_outputs(keras, model, spec, windows)
    assert np.max(np.abs(first - second)) > 1e-3  # different initialisations, not one model twice
    np.testing.assert_allclose(np.asarray(model.predict(windows, verbose=0)), (first + second) / 2, atol=1e-5)


def test_each_member_learns_from_its_own_error():
    keras = _deps.keras()
    keras.utils.set_random_seed(3)
    spec = AutoencoderSpec(window=6, channels=2, units=4, members=2)
    model = build_autoencoder(keras, spec)
    view = members_view(keras, model, spec)
    view.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    t = np.linspace(0, 20, 400, dtype=np.float32)
    windows = make_windows(np.stack([np.sin(t), np.cos(t)], axis=1), spec.window, 1)
    before = [float(np.mean((m - windows) ** 2)) for m in _member_outputs(keras, model, spec, windows)]
    view.fit(windows, member_targets(windows, spec), epochs=15, batch_size=32, verbose=0)
    after = [float(np.mean((m - windows) ** 2)) for m in _member_outputs(keras, model, spec, windows)]
    assert all(a < 0.5 * b for a, b in zip(after, before)), (before, after)


def test_rebuild_and_full_int8_keep_the_ensemble(ensemble_bundle, tmp_path):
    model_path, _, data = ensemble_bundle
    keras = _deps.keras()
    model = keras.saving.load_model(model_path, compile=False)
    sidecar = read_sidecar(model_path)
    spec = AutoencoderSpec(**sidecar["architecture"])
    from edge.scaler import StandardScaler

    values = read_table(data.normal_csv, sidecar["columns"]).values[:300]
    windows = StandardScaler.from_dict(sidecar["scaler"]).transform(make_windows(values, spec.window, 3))
    batch1 = rebuild_batch1(model, spec)
    np.testing.assert_allclose(batch1.predict(windows, batch_size=1, verbose=0),
                               model.predict(windows, verbose=0), atol=1e-5)
    path = tmp_path / "int8.tflite"
    path.write_bytes(to_tflite(batch1, Precision.INT8, RepresentativeDataset(windows, 50)))
    ops = [op["op_name"] for op in Interpreter(model_path=str(path))._get_ops_details()]
    assert ops.count("UNIDIRECTIONAL_SEQUENCE_LSTM") == 2 * spec.members  # fused: one op per LSTM layer
    assert not [op for op in ops if op.startswith("Flex")]
    details = Interpreter(model_path=str(path))
    assert details.get_input_details()[0]["dtype"] == np.int8 and details.get_output_details()[0]["dtype"] == np.int8


def test_bundle_records_members_and_the_device_runs_the_mean(ensemble_bundle):
    model_path, bundle_dir, data = ensemble_bundle
    manifest = json.loads((bundle_dir / "manifest.json").read_text())
    assert manifest["model"]["architecture"]["members"] == 2
    assert manifest["decision"]["end_ratio"] == 10  # convert --end-ratio, read back by the device below
    assert read_sidecar(model_path)["training"]["members"] == 2
    bundle = load_bundle(bundle_dir)
    assert bundle.decision(bundle.variant()).end_ratio == 10.0
    keras = _deps.keras()
    model = keras.saving.load_model(model_path, compile=False)
    raw = make_windows(read_table(data.normal_csv, list(bundle.input.columns)).values[-400:], bundle.input.window, 7)
    scaled = bundle.scaler.transform(raw)
    expected = bundle.score.scores(scaled, np.asarray(model.predict(scaled, verbose=0)))
    for variant in ("int8", "onnx"):
        loaded = load_model(bundle, variant)
        try:
            got = np.array([loaded.scorer(w) for w in raw])
        finally:
            loaded.close()
        assert np.corrcoef(expected, got)[0, 1] > 0.98, variant
    assert manifest["variants"]["int8"]["agreement_with_keras"]["score_correlation"] > 0.98


@pytest.mark.parametrize("members", ["0", "17"])
def test_members_out_of_range_is_one_line(pump_data, tmp_path, members):
    done = run_cli("edgewatch.cli", "train", "autoencoder", "--data", str(pump_data.normal_csv),
                   "--out", str(tmp_path / "m.keras"), "--members", members)
    assert done.returncode == 1
    assert "--members must be between 1 and 16" in done.stderr
    assert "Traceback" not in done.stderr


def test_microcontroller_rebuild_refuses_an_ensemble(ensemble_bundle):
    from convert.mcu import convert_for_mcu
    from edge.errors import ConfigError

    model_path, _, data = ensemble_bundle
    with pytest.raises(ConfigError, match="averages 2"):
        convert_for_mcu(model_path, data.normal_csv)
