"""load_bundle: a verified bundle loads; any damage is a one-line BundleError naming the file."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import pytest

from edge.bundle import MANIFEST_NAME, SCHEMA_VERSION, load_bundle
from edge.errors import BundleError, ConfigError
from edge.score import ScoreSpec

MODEL_BYTES = bytes(range(256)) * 4 + b"tiny model"
ONNX_BYTES = b"onnx-ish payload " * 10


def _entry(content: bytes) -> dict:
    return {"sha256": hashlib.sha256(content).hexdigest(), "bytes": len(content)}


def _manifest(files: dict[str, bytes]) -> dict:
    """The layout convert/pipeline.py ``_manifest()`` writes, with what ``_build()`` reads."""
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "edgewatch-bundle",
        "model": {"name": "pump-ae", "family": "autoencoder", "architecture": "dense"},
        "input": {"window": 32, "hop": 4, "columns": ["flow", "pressure", "vibration"], "sample_rate": 10.0,
                  "dtype": "float32", "shape": [1, 32, 3]},
        "scaler": {"kind": "standard", "mean": [1.0, 2.0, 3.0], "scale": [0.5, 1.0, 2.0]},
        "score": {"kind": "reconstruction_mse"},
        "threshold": {"value": 0.75, "method": "percentile", "variant": "int8"},
        "decision": {"k": 3, "n": 5, "cooldown_s": 2.5, "release": 10},
        "default_variant": "int8",
        "variants": {
            "int8": {"file": "model_int8.tflite", "format": "tflite", "precision": "int8", "threshold": 0.8},
            "onnx": {"file": "model.onnx", "format": "onnx", "precision": "fp32", "threshold": 0.7},
        },
        "files": {name: _entry(content) for name, content in files.items()},
    }


@pytest.fixture
def bundle_dir(tmp_path) -> Path:
    root = tmp_path / "bundle"
    root.mkdir()
    files = {"model_int8.tflite": MODEL_BYTES, "model.onnx": ONNX_BYTES}
    for name, content in files.items():
        (root / name).write_bytes(content)
    (root / MANIFEST_NAME).write_text(json.dumps(_manifest(files), indent=2), encoding="utf-8")
    return root


def _edit_manifest(root: Path, change) -> None:
    path = root / MANIFEST_NAME
    manifest = json.loads(path.read_text(encoding="utf-8"))
    change(manifest)
    path.write_text(json.dumps(manifest), encoding="utf-8")


def _error(root: Path) -> str:
    with pytest.raises(BundleError) as exc:
        load_bundle(root)
    message = str(exc.value)
    assert "\n" not in message, message
    return message


def test_valid_bundle_loads(bundle_dir):
    bundle = load_bundle(bundle_dir)
    assert bundle.model_name == "pump-ae"
    assert bundle.input.window == 32 and bundle.input.hop == 4
    assert bundle.input.columns == ("flow", "pressure", "vibration")
    assert bundle.input.channels == 3
    assert bundle.input.sample_rate == 10.0
    assert bundle.scaler.mean == (1.0, 2.0, 3.0) and bundle.scaler.scale == (0.5, 1.0, 2.0)
    assert bundle.threshold == 0.75
    assert (bundle.k, bundle.n, bundle.release, bundle.cooldown_s) == (3, 5, 10, 2.5)
    assert bundle.default_variant == "int8"
    assert set(bundle.variants) == {"int8", "onnx"}
    int8 = bundle.variant()
    assert int8.name == "int8" and int8.format == "tflite" and int8.precision == "int8"
    assert int8.path == bundle_dir / "model_int8.tflite"
    assert int8.path.read_bytes() == MODEL_BYTES
    assert bundle.variant("onnx").format == "onnx"


def test_unknown_variant_lists_choices(bundle_dir):
    bundle = load_bundle(bundle_dir)
    with pytest.raises(ConfigError, match="int8, onnx"):
        bundle.variant("fp16")


def test_changed_byte_in_model(bundle_dir):
    path = bundle_dir / "model_int8.tflite"
    data = bytearray(path.read_bytes())
    data[100] ^= 0x01  # same size, different content
    path.write_bytes(bytes(data))
    message = _error(bundle_dir)
    assert "model_int8.tflite" in message and "sha256" in message


def test_truncated_file(bundle_dir):
    path = bundle_dir / "model.onnx"
    path.write_bytes(ONNX_BYTES[:-7])
    message = _error(bundle_dir)
    assert "model.onnx" in message
    assert f"{len(ONNX_BYTES) - 7} bytes" in message and str(len(ONNX_BYTES)) in message


def test_missing_file(bundle_dir):
    (bundle_dir / "model.onnx").unlink()
    message = _error(bundle_dir)
    assert "model.onnx" in message and "missing" in message


def test_missing_manifest(bundle_dir):
    (bundle_dir / MANIFEST_NAME).unlink()
    message = _error(bundle_dir)
    assert MANIFEST_NAME in message and "missing" in message


def test_missing_directory(tmp_path):
    assert MANIFEST_NAME in _error(tmp_path / "nowhere")


@pytest.mark.parametrize("text", ['{"schema_version": 1, ', "", "not json at all", "\xff\xfe"])
def test_invalid_json(bundle_dir, text):
    (bundle_dir / MANIFEST_NAME).write_bytes(text.encode("latin-1"))
    message = _error(bundle_dir)
    assert MANIFEST_NAME in message


@pytest.mark.parametrize("version", [2, 0, "1", None])
def test_wrong_schema_version(bundle_dir, version):
    _edit_manifest(bundle_dir, lambda m: m.update(schema_version=version))
    message = _error(bundle_dir)
    assert MANIFEST_NAME in message and "schema_version" in message and repr(version) in message


def test_manifest_not_an_object(bundle_dir):
    (bundle_dir / MANIFEST_NAME).write_text("[1, 2, 3]", encoding="utf-8")
    assert MANIFEST_NAME in _error(bundle_dir)


@pytest.mark.parametrize("name", ["../x", "sub/../../x"])
def test_file_path_escaping_the_bundle(bundle_dir, name):
    outside = bundle_dir.parent / "x"
    outside.write_bytes(b"secret")  # exists and matches, so only the path check can refuse it
    _edit_manifest(bundle_dir, lambda m: m["files"].update({name: _entry(b"secret")}))
    message = _error(bundle_dir)
    assert repr(name) in message and "outside" in message


def test_absolute_file_path_refused(bundle_dir):
    outside = bundle_dir.parent / "abs.bin"
    outside.write_bytes(b"abc")
    _edit_manifest(bundle_dir, lambda m: m["files"].update({str(outside): _entry(b"abc")}))
    assert str(outside) in _error(bundle_dir)


def test_no_files_listed(bundle_dir):
    _edit_manifest(bundle_dir, lambda m: m.update(files={}))
    assert MANIFEST_NAME in _error(bundle_dir)


def test_variant_file_not_listed(bundle_dir):
    _edit_manifest(bundle_dir, lambda m: m["variants"]["onnx"].update(file="other.onnx"))
    message = _error(bundle_dir)
    assert "other.onnx" in message and "onnx" in message


def test_missing_manifest_key_is_bundle_error(bundle_dir):
    _edit_manifest(bundle_dir, lambda m: m.pop("scaler"))
    message = _error(bundle_dir)
    assert MANIFEST_NAME in message and "scaler" in message


def test_unknown_default_variant(bundle_dir):
    _edit_manifest(bundle_dir, lambda m: m.update(default_variant="fp16"))
    assert "fp16" in _error(bundle_dir)


def test_decision_defaults_from_manifest(bundle_dir):
    bundle = load_bundle(bundle_dir)
    config = bundle.decision(bundle.variant("int8"))
    assert config.threshold == 0.8  # the variant's own threshold beats the manifest's 0.75
    assert (config.k, config.n, config.release) == (3, 5, 10)
    # 2.5 s at 10 Hz = 25 rows; windows every 4 rows -> ceil(6.25) = 7 windows
    assert config.cooldown == 7 == math.ceil(2.5 * 10.0 / 4)
    assert bundle.decision(bundle.variant("onnx")).threshold == 0.7


def test_decision_overrides(bundle_dir):
    bundle = load_bundle(bundle_dir)
    config = bundle.decision(bundle.variant(), threshold=1.5, k=2, n=4, cooldown_s=4.0, release=6)
    assert (config.threshold, config.k, config.n, config.release) == (1.5, 2, 4, 6)
    assert config.cooldown == 10  # 4 s * 10 Hz / hop 4 = exactly 10
    assert bundle.decision(bundle.variant(), cooldown_s=0.1).cooldown == 1  # ceil(0.25)
    assert bundle.decision(bundle.variant(), cooldown_s=0.0).cooldown == 0


def test_end_ratio_comes_from_the_manifest_and_can_be_overridden(bundle_dir):
    assert load_bundle(bundle_dir).decision(load_bundle(bundle_dir).variant()).end_ratio is None  # older manifests
    _edit_manifest(bundle_dir, lambda m: m["decision"].update(end_ratio=10))
    bundle = load_bundle(bundle_dir)
    assert bundle.decision(bundle.variant()).end_ratio == 10.0
    assert bundle.decision(bundle.variant(), end_ratio=4.0).end_ratio == 4.0
    with pytest.raises(ConfigError, match="end ratio"):
        bundle.decision(bundle.variant(), end_ratio=0.5)


def test_decision_falls_back_to_manifest_threshold(bundle_dir):
    _edit_manifest(bundle_dir, lambda m: m["variants"]["int8"].pop("threshold"))
    bundle = load_bundle(bundle_dir)
    assert bundle.decision(bundle.variant()).threshold == 0.75


def test_cooldown_without_sample_rate_is_config_error(bundle_dir):
    _edit_manifest(bundle_dir, lambda m: m["input"].update(sample_rate=None))
    bundle = load_bundle(bundle_dir)
    with pytest.raises(ConfigError, match="sample rate"):
        bundle.decision(bundle.variant())
    assert bundle.decision(bundle.variant(), cooldown_s=0.0).cooldown == 0


def test_invalid_override_is_config_error(bundle_dir):
    bundle = load_bundle(bundle_dir)
    with pytest.raises(ConfigError):
        bundle.decision(bundle.variant(), k=9, n=4)


@pytest.mark.parametrize(
    "change",
    [
        lambda m: m["files"].update({"model.onnx": "deadbeef"}),  # entry not an object
        lambda m: m.update(variants=["int8", "onnx"]),  # variants not an object
    ],
    ids=["file-entry-not-object", "variants-not-object"],
)
def test_malformed_manifest_shapes_are_bundle_errors(bundle_dir, change):
    _edit_manifest(bundle_dir, change)
    message = _error(bundle_dir)
    assert MANIFEST_NAME in message or "model.onnx" in message


def test_score_spec_is_read_from_the_manifest(bundle_dir):
    assert load_bundle(bundle_dir).score == ScoreSpec("reconstruction_mse", None)
    _edit_manifest(bundle_dir, lambda m: m.update(score={"kind": "channel_max_mse", "channel_weights": [1, 0.25, 1]}))
    assert load_bundle(bundle_dir).score == ScoreSpec("channel_max_mse", (1.0, 0.25, 1.0))


def test_old_manifest_without_score_loads_with_reconstruction_mse(bundle_dir):
    _edit_manifest(bundle_dir, lambda m: m.pop("score"))
    assert load_bundle(bundle_dir).score == ScoreSpec("reconstruction_mse", None)


@pytest.mark.parametrize("score, words", [
    ({"kind": "class_probability"}, "unknown score kind 'class_probability'"),
    ({"kind": "channel_max_mse", "channel_weights": [1, 1]}, "2 channel weights for 3 channels"),
    ({"kind": "channel_max_mse", "channel_weights": [1, -1, 1]}, "finite and > 0"),
])
def test_unusable_score_spec_is_one_bundle_error(bundle_dir, score, words):
    _edit_manifest(bundle_dir, lambda m: m.update(score=score))
    message = _error(bundle_dir)
    assert words in message and "edgewatch" in message
