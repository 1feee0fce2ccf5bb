"""Backend choice: LiteRT, then tflite-runtime, then onnxruntime; forced with --backend.

The absent runtimes are real where they can be: ``.venv-tflite`` (made by
scripts/setup.sh) has tflite-runtime and numpy<2 and neither LiteRT nor
onnxruntime. In the main venv, runtimes are made unimportable with an import
blocker, as a device without their wheels would be.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from edge.backends import open_backend
from edge.backends.onnxruntime import choose_providers
from edge.bundle import load_bundle
from edge.errors import ConfigError
from edge.model import backend_candidates, load_model
from no_tensorflow import run_without_tensorflow

ROOT = Path(__file__).resolve().parent.parent
TFLITE_VENV_PYTHON = ROOT / ".venv-tflite" / "bin" / "python"


def _infer(python, trained_bundle, *args, blocked=("tensorflow",)):
    return run_without_tensorflow("edge-infer", "--bundle", trained_bundle.bundle, "--source",
                                  f"file:{trained_bundle.data.stream_csv}", "--quiet", *args, blocked=blocked,
                                  python=python, timeout=180)


@pytest.fixture(scope="module")
def int8_default(trained_bundle, tmp_path_factory):
    """The session bundle with INT8 TFLite as its default (the measured choice may be another variant)."""
    import dataclasses
    import shutil

    from edge.bundle import set_default_variant

    copy = tmp_path_factory.mktemp("int8_default") / "bundle"
    shutil.copytree(trained_bundle.bundle, copy)
    set_default_variant(copy, "int8", {"test": "INT8 TFLite forced as the default"})
    return dataclasses.replace(trained_bundle, bundle=copy)


def _starts(result) -> list[int]:
    return [a["window_start"] for a in map(json.loads, result.stdout.splitlines()) if a["type"] == "start"]


def test_litert_is_the_first_choice(int8_default):
    done = _infer(sys.executable, int8_default)
    assert done.returncode == 0, done.stderr
    assert "(int8 on litert (cpu))" in done.stderr and "passed over" not in done.stderr
    assert len(_starts(done)) == len(int8_default.data.stream.anomalies)


def test_the_default_variant_runs_on_its_own_runtime(trained_bundle):
    default = load_bundle(trained_bundle.bundle).variant()
    done = _infer(sys.executable, trained_bundle)
    assert done.returncode == 0, done.stderr
    assert f"({default.name} on " in done.stderr and "passed over" not in done.stderr


def test_without_litert_or_tflite_runtime_onnxruntime_runs_the_onnx_variant(int8_default):
    trained_bundle = int8_default
    done = _infer(sys.executable, trained_bundle, blocked=("tensorflow", "ai_edge_litert"))
    assert done.returncode == 0, done.stderr
    assert " on onnxruntime (CPUExecutionProvider))" in done.stderr
    assert "passed over litert (int8): the LiteRT backend needs ai-edge-litert: pip install" in done.stderr
    assert "passed over tflite_runtime (int8)" in done.stderr
    assert len(_starts(done)) == len(trained_bundle.data.stream.anomalies)


def test_no_backend_at_all_is_one_line_naming_each_fix(trained_bundle):
    done = _infer(sys.executable, trained_bundle, blocked=("tensorflow", "ai_edge_litert", "onnxruntime"))
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 1 and len(lines) == 1, done.stderr
    assert lines[0].startswith("error: no installed backend can run this bundle")
    assert "ai-edge-litert" in lines[0] and "tflite-runtime" in lines[0] and "onnxruntime" in lines[0]


def test_forced_backend_that_is_missing_says_how_to_install_it(trained_bundle):
    done = _infer(sys.executable, trained_bundle, "--backend", "litert", blocked=("tensorflow", "ai_edge_litert"))
    assert done.returncode == 1
    assert done.stderr.strip() == "error: the LiteRT backend needs ai-edge-litert: pip install 'ai-edge-litert>=2.3'"


@pytest.mark.skipif(not TFLITE_VENV_PYTHON.exists(), reason="run scripts/setup.sh to create .venv-tflite")
def test_tflite_runtime_runs_where_litert_is_not_installed(int8_default):
    """A real tflite-runtime 2.14 (numpy<2), chosen because LiteRT and onnxruntime are absent: same alerts."""
    trained_bundle = int8_default
    reference = _infer(sys.executable, trained_bundle)
    done = _infer(TFLITE_VENV_PYTHON, trained_bundle)
    assert done.returncode == 0, done.stderr
    assert "(int8 on tflite_runtime (cpu))" in done.stderr
    assert "passed over litert (int8): the LiteRT backend needs ai-edge-litert" in done.stderr
    assert _starts(done) == _starts(reference) and _starts(done)
    forced = _infer(TFLITE_VENV_PYTHON, trained_bundle, "--backend", "tflite_runtime", "--variant", "fp32")
    assert forced.returncode == 0 and "(fp32 on tflite_runtime (cpu))" in forced.stderr, forced.stderr


@pytest.mark.skipif(not TFLITE_VENV_PYTHON.exists(), reason="run scripts/setup.sh to create .venv-tflite")
def test_tflite_runtime_resets_the_lstm_state_every_window(trained_bundle):
    script = textwrap.dedent(f"""
        import numpy as np
        from edge.bundle import load_bundle
        from edge.backends import open_backend
        bundle = load_bundle({str(trained_bundle.bundle)!r})
        backend = open_backend('tflite', bundle.variant('int8').path, 'tflite_runtime')
        window = np.random.default_rng(0).normal(size=backend.input_shape).astype(np.float32)
        first = backend.run(window)
        for _ in range(3):
            backend.run(window * 3)
        print(float(np.abs(backend.run(window) - first).max()), backend.name)
    """)
    done = subprocess.run([str(TFLITE_VENV_PYTHON), "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0.0", "tflite_runtime"]


def test_candidates_follow_preference_variant_and_forced_backend(trained_bundle, tmp_path):
    import shutil

    from edge.bundle import set_default_variant

    copy = tmp_path / "bundle"
    shutil.copytree(trained_bundle.bundle, copy)
    set_default_variant(copy, "int8", {"test": "default forced"})
    auto = [(b, v.name) for b, v in backend_candidates(load_bundle(copy), None, None)]
    assert auto[:2] == [("litert", "int8"), ("tflite_runtime", "int8")]  # the default's own backends first
    assert auto[2][0] == "onnxruntime" and auto[2][1].startswith("onnx")  # then the measured ONNX choice
    set_default_variant(copy, "onnx_dynamic", {"test": "default forced"})
    auto = [(b, v.name) for b, v in backend_candidates(load_bundle(copy), None, None)]
    assert auto[0] == ("onnxruntime", "onnx_dynamic") and [b for b, _ in auto[1:]] == ["litert", "tflite_runtime"]
    bundle = load_bundle(trained_bundle.bundle)
    assert [(b, v.name) for b, v in backend_candidates(bundle, "fp32", None)] == [
        ("litert", "fp32"), ("tflite_runtime", "fp32")]
    forced = backend_candidates(bundle, None, "onnxruntime")
    assert len(forced) == 1 and forced[0][0] == "onnxruntime" and forced[0][1].format == "onnx"
    with pytest.raises(ConfigError, match="runs onnx models but variant 'int8' is tflite"):
        backend_candidates(bundle, "int8", "onnxruntime")
    with pytest.raises(ConfigError, match="unknown backend 'tensorrt'"):
        backend_candidates(bundle, None, "tensorrt")


def test_onnxruntime_reports_the_provider_it_really_uses(trained_bundle):
    model = load_model(load_bundle(trained_bundle.bundle), None, "onnxruntime")
    assert model.backend.execution == "CPUExecutionProvider" and model.runs_on == "onnxruntime (CPUExecutionProvider)"
    window = np.zeros((model.bundle.input.window, model.bundle.input.channels), np.float32)
    assert np.isfinite(model.scorer(window))


def test_provider_preference_tensorrt_then_cuda_then_cpu():
    assert choose_providers(["CPUExecutionProvider"]) == ["CPUExecutionProvider"]
    assert choose_providers(["AzureExecutionProvider", "CPUExecutionProvider"]) == ["CPUExecutionProvider"]
    assert choose_providers(["CPUExecutionProvider", "CUDAExecutionProvider", "TensorrtExecutionProvider"]) == [
        "TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
    assert choose_providers(["CUDAExecutionProvider", "CPUExecutionProvider"]) == [
        "CUDAExecutionProvider", "CPUExecutionProvider"]


def test_open_backend_without_a_name_keeps_working_for_host_tools(trained_bundle):
    bundle = load_bundle(trained_bundle.bundle)
    assert open_backend("tflite", bundle.variant("int8").path).name == "litert"
    assert open_backend("onnx", bundle.variant("onnx").path).name == "onnxruntime"
