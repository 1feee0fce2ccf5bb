"""``export-firmware`` for TensorFlow Lite Micro: C array, op resolver, arena, example, refusal.

The session's tiny autoencoder (``trained_bundle``) is exported once through the CLI
with ``--model/--data`` (rebuilt without TILE); the bundle's own INT8 model, whose
RepeatVector became TILE, must be refused by op name.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from calibration.dataset import RepresentativeDataset, make_windows
from edge.bundle import load_bundle
from edge.csvdata import read_table
from edge.errors import MissingDependencyError
from firmware_bridge.export import (TFLM_RESOLVER_METHODS, UnsupportedOpsError, c_array_sources, export_tflm,
                                    int8_variant, litert_int8_outputs, model_ops, preflight, probe_arena,
                                    tflm_int8_outputs)
from firmware_bridge.export.agreement import quantize_windows
from firmware_bridge.export.tflm import tflm_version

from conftest import run_cli

CLI = ("edgewatch.cli", "export-firmware")
CXX = ["g++", "-std=c++17", "-Wall", "-Wextra", "-Werror", "-pedantic"]
needs_gxx = pytest.mark.skipif(shutil.which("g++") is None, reason="g++ is not installed")
needs_tflm = pytest.mark.skipif(tflm_version() is None, reason="tflite-micro: pip install 'edgewatch[firmware]'")


@pytest.fixture(scope="module")
def exported(trained_bundle, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("firmware") / "tflm"
    done = run_cli(*CLI, "--bundle", str(trained_bundle.bundle), "--out", str(out), "--model",
                   str(trained_bundle.model), "--data", str(trained_bundle.data.normal_csv))
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def _report(out: Path) -> dict:
    return json.loads((out / "firmware.json").read_text())


def test_tile_model_is_refused_by_op_name(trained_bundle, tmp_path):
    out = tmp_path / "refused"
    done = run_cli(*CLI, "--bundle", str(trained_bundle.bundle), "--out", str(out))
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 1 and len(lines) == 1, done.stderr
    assert lines[0].startswith("error: TILE (from RepeatVector) is not in TFLite Micro: ")
    assert "--model" in lines[0]
    assert not out.exists()  # nothing written


def test_model_without_its_data_is_a_usage_error(trained_bundle, tmp_path):
    done = run_cli(*CLI, "--bundle", str(trained_bundle.bundle), "--out", str(tmp_path / "x"),
                   "--model", str(trained_bundle.model))
    assert done.returncode == 1 and "--model and --data go together" in done.stderr


@needs_tflm
def test_rebuild_is_the_same_model(exported, trained_bundle):
    report = _report(exported)
    rebuild = report["mcu_rebuild"]
    assert rebuild["float_max_abs_diff_vs_tile_model"] == 0.0
    assert rebuild["int8_vs_bundle_variant_litert"]["max_lsb"] == 0  # bit-identical to the bundle's INT8
    assert "TILE" in model_ops(int8_variant(load_bundle(trained_bundle.bundle)).path)
    assert report["notes"] == []


@needs_tflm
def test_resolver_has_exactly_the_model_ops(exported):
    ops = model_ops(exported / "model.tflite")
    assert "TILE" not in ops and "BROADCAST_TO" in ops
    report = _report(exported)
    assert report["ops"] == ops
    header = (exported / "edgewatch_op_resolver.h").read_text()
    assert f"constexpr unsigned int kNumOps = {len(ops)};" in header
    assert "tflite::MicroMutableOpResolver<kNumOps>" in header
    added = [line.split("resolver.")[1].split("(")[0] for line in header.splitlines() if "resolver.Add" in line]
    assert added == [TFLM_RESOLVER_METHODS[op] for op in ops]


@needs_tflm
@needs_gxx
def test_c_array_compiles_to_the_model_bytes(exported, tmp_path):
    main = tmp_path / "dump.cc"
    main.write_text('#include <cstdint>\n#include <cstdio>\n#include "model_data.h"\n'
                    "int main() {\n  if (reinterpret_cast<std::uintptr_t>(g_model_data) % 16 != 0) return 3;\n"
                    "  return std::fwrite(g_model_data, 1, g_model_data_len, stdout) == g_model_data_len ? 0 : 2;\n}\n")
    exe = tmp_path / "dump"
    subprocess.run([*CXX, "-I", str(exported), str(main), str(exported / "model_data.cc"), "-o", str(exe)],
                   check=True, capture_output=True, timeout=120)
    done = subprocess.run([str(exe)], capture_output=True, timeout=30)
    assert done.returncode == 0
    assert done.stdout == (exported / "model.tflite").read_bytes()


@needs_tflm
@needs_gxx
def test_example_compiles_against_the_tflm_api(exported, tmp_path):
    """Syntax and types of the example, against stubs of the TFLite Micro API it uses."""
    for name, text in _tflm_stubs().items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    done = subprocess.run([*CXX, "-fsyntax-only", "-I", str(tmp_path), "-I", str(exported),
                           str(exported / "edgewatch_example.cc")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


@needs_tflm
def test_tflm_agrees_with_litert_on_the_same_int8_inputs(exported, trained_bundle):
    bundle = load_bundle(trained_bundle.bundle)
    table = read_table(trained_bundle.data.stream_csv, bundle.input.columns)  # includes anomalies
    windows = make_windows(table.values, bundle.input.window, bundle.input.hop)
    scaled = bundle.scaler.transform(RepresentativeDataset(windows, 80).windows)
    io = _report(exported)["io"]
    inputs = quantize_windows(scaled, io["input"]["scale"], io["input"]["zero_point"])[:, None]
    model = exported / "model.tflite"
    micro = tflm_int8_outputs(model.read_bytes(), _report(exported)["arena"]["recommended"], inputs)
    lite = litert_int8_outputs(model, inputs)
    diff = np.abs(micro.astype(int) - lite.astype(int))
    # Measured: TFLM's INT8 LSTM kernel is not bit-exact with LiteRT's (max 2 LSB, ~87% identical).
    assert diff.max() <= 2 and np.mean(diff <= 1) >= 0.999
    assert np.array_equal(lite, litert_int8_outputs(int8_variant(bundle).path, inputs))  # == bundle's model
    scale, zero = io["output"]["scale"], io["output"]["zero_point"]
    scores = [np.mean(((out.astype(np.float32) - zero) * scale - scaled[:, None]) ** 2, axis=(1, 2, 3))
              for out in (micro, lite)]
    assert np.corrcoef(*scores)[0, 1] > 0.999
    threshold = int8_variant(bundle).info["threshold"]
    assert np.array_equal(scores[0] > threshold, scores[1] > threshold)


@needs_tflm
def test_arena_is_measured_and_a_smaller_one_fails(exported):
    arena = _report(exported)["arena"]
    assert arena["measured"] and arena["base"] > 0 and arena["recommended"] >= arena["base"]
    model = exported / "model.tflite"
    assert probe_arena(model, arena["base"]).ok
    smaller = probe_arena(model, int(arena["base"] * 0.8))
    assert not smaller.ok and smaller.reason  # a clean failure or a crash, isolated in a child process
    settings = (exported / "edgewatch_model_settings.h").read_text()
    assert f"constexpr size_t kTensorArenaSize = {arena['recommended']};" in settings


@needs_tflm
def test_without_tflite_micro_the_arena_is_an_estimate(exported, trained_bundle, tmp_path, monkeypatch):
    import firmware_bridge.export.arena as arena_module

    monkeypatch.setattr(arena_module, "tflm_version", lambda: None)
    result = export_tflm((exported / "model.tflite").read_bytes(), load_bundle(trained_bundle.bundle),
                         tmp_path / "fw", "test model")
    assert result.agreement is None and not result.arena.measured
    assert result.arena.base >= _report(exported)["arena"]["base"]  # the estimate errs high here
    assert "ESTIMATE" in (tmp_path / "fw" / "edgewatch_model_settings.h").read_text()


def test_preflight_names_every_missing_op():
    with pytest.raises(UnsupportedOpsError) as caught:
        preflight(["UNIDIRECTIONAL_SEQUENCE_LSTM", "TILE", "FlexTensorListReserve", "FULLY_CONNECTED"])
    assert [p.op for p in caught.value.problems] == ["TILE", "FlexTensorListReserve"]
    assert str(caught.value).startswith("TILE (from RepeatVector) is not in TFLite Micro: ")
    preflight(["UNIDIRECTIONAL_SEQUENCE_LSTM", "BROADCAST_TO", "RESHAPE"])  # no error


def test_c_array_rejects_a_bad_symbol_and_keeps_the_bytes():
    with pytest.raises(ValueError):
        c_array_sources(b"\x00", "9model")
    files = c_array_sources(bytes(range(30)), "g_x")
    assert "alignas(16) const unsigned char g_x[]" in files["model_data.cc"]
    assert "const unsigned int g_x_len = 30;" in files["model_data.cc"]


def test_missing_tflite_micro_names_the_extra(monkeypatch):
    from firmware_bridge.export.tflm import tflm_runtime

    monkeypatch.setitem(sys.modules, "tflite_micro.python.tflite_micro", None)
    with pytest.raises(MissingDependencyError, match=r"edgewatch\[firmware\]"):
        tflm_runtime()


def _tflm_stubs() -> dict[str, str]:
    adds = "".join(f"  TfLiteStatus {m}() {{ return kTfLiteOk; }}\n" for m in TFLM_RESOLVER_METHODS.values())
    return {
        "tensorflow/lite/micro/micro_mutable_op_resolver.h":
            "#pragma once\n#include <cstddef>\n#include <cstdint>\n"
            "typedef enum { kTfLiteOk = 0, kTfLiteError = 1 } TfLiteStatus;\n"
            "struct TfLiteQuantizationParams { float scale; int32_t zero_point; };\n"
            "struct TfLiteTensor {\n  union { int8_t* int8; float* f; } data;\n  TfLiteQuantizationParams params;\n};\n"
            "namespace tflite {\nclass MicroOpResolver {};\n"
            "template <unsigned int N> class MicroMutableOpResolver : public MicroOpResolver {\n"
            f" public:\n{adds}}};\n}}\n",
        "tensorflow/lite/micro/micro_interpreter.h":
            '#pragma once\n#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"\nnamespace tflite {\n'
            "struct Model { unsigned version() const { return 3; } };\n"
            "inline const Model* GetModel(const void*) { static Model m; return &m; }\n"
            "class MicroInterpreter {\n public:\n"
            "  MicroInterpreter(const Model*, const MicroOpResolver&, uint8_t*, size_t) {}\n"
            "  TfLiteStatus AllocateTensors() { return kTfLiteOk; }\n  TfLiteStatus Invoke() { return kTfLiteOk; }\n"
            "  TfLiteStatus Reset() { return kTfLiteOk; }\n  TfLiteTensor* input(size_t) { return &t_; }\n"
            "  TfLiteTensor* output(size_t) { return &t_; }\n  size_t arena_used_bytes() const { return 0; }\n"
            " private:\n  TfLiteTensor t_{};\n};\n}\n",
        "tensorflow/lite/micro/micro_log.h": "#pragma once\nvoid MicroPrintf(const char* format, ...) "
                                             "__attribute__((format(printf, 1, 2)));\n",
        "tensorflow/lite/micro/system_setup.h": "#pragma once\nnamespace tflite { inline void InitializeTarget() {} }\n",
        "tensorflow/lite/schema/schema_generated.h": "#pragma once\n#define TFLITE_SCHEMA_VERSION 3\n",
    }
