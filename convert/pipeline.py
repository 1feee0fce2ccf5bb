"""``edgewatch convert``: a trained model and its data in, a verified bundle out."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from calibration.dataset import RepresentativeDataset, make_windows
from calibration.drift import SCORE_CHOICES, score_spec_for
from calibration.threshold import ThresholdPolicy, choose_threshold
from convert import _deps
from convert.autoencoder import AutoencoderSpec
from convert.bundle_writer import BundleWriter
from convert.evaluate import agreement, keras_scores, median_latency_ms, variant_scores
from convert.export import Precision, rebuild_batch1, to_onnx, to_tflite
from convert.recordings import read_training_table
from convert.train import read_sidecar, sidecar_path
from edge.bundle import SCHEMA_VERSION, load_bundle, sha256_file
from edge.decide import DecisionConfig
from edge.errors import ConfigError, ModelLoadError
from edge.features import feature_spec_from_dict
from edge.scaler import StandardScaler
from edge.score import CHANNEL_MAX_MSE, RECONSTRUCTION_MSE, ScoreSpec

__all__ = ["ConvertConfig", "convert_model", "VARIANT_FILES"]

VARIANT_FILES = {
    "fp32": ("model_fp32.tflite", "tflite", "fp32"),
    "dynamic": ("model_dynamic.tflite", "tflite", "dynamic-range int8"),
    "int8": ("model_int8.tflite", "tflite", "int8"),
    "onnx": ("model.onnx", "onnx", "fp32"),
}

Step = Callable[[str], None]

SCORE_DESCRIPTIONS = {
    RECONSTRUCTION_MSE: "mean squared error over the scaled window",
    CHANNEL_MAX_MSE: "largest per-channel mean squared error in the scaled window, residuals times channel_weights",
}


@dataclass(frozen=True)
class ConvertConfig:
    """Conversion settings; the threshold and debounce defaults go into the manifest."""

    default_variant: str = "int8"
    representative_count: int = 300
    threshold: ThresholdPolicy = field(default_factory=ThresholdPolicy)
    k: int = 3
    n: int = 5
    cooldown_s: float = 0.0
    release: int | None = None
    end_ratio: float | None = None  # see edge.decide.DecisionConfig
    calibration_data: Path | None = None
    model_name: str | None = None
    score: str | None = None  # "mse" or "channel-max"; None: what training recorded (else mse)


@dataclass(frozen=True)
class _Data:
    scaler: StandardScaler
    train_raw: np.ndarray  # raw windows the model trained on (representative dataset)
    calib_raw: np.ndarray  # raw windows (1 row apart) of normal data the model did not train on
    calib_source: str
    score: ScoreSpec


def convert_model(model_path: Path, data_path: Path, out: Path, config: ConvertConfig, step: Step = print) -> dict:
    """Convert ``model_path`` into a bundle at ``out``; returns the manifest."""
    if config.default_variant not in VARIANT_FILES:
        raise ConfigError(f"--default-variant must be one of {', '.join(VARIANT_FILES)}")
    if config.score is not None and config.score not in SCORE_CHOICES:
        raise ConfigError(f"--score must be one of {', '.join(SCORE_CHOICES)}, got {config.score!r}")
    DecisionConfig(1.0, config.k, config.n, 0, config.release, config.end_ratio)  # bad settings fail before work
    sidecar = read_sidecar(model_path)
    if sidecar is None:
        raise ConfigError(
            f"{Path(model_path).name} has no {sidecar_path(model_path).name} beside it (window, columns, scaler); "
            "train it with 'edgewatch train autoencoder' or put the sidecar next to the model"
        )
    spec = AutoencoderSpec(**sidecar["architecture"])
    data = _load_data(sidecar, Path(data_path), config)
    step(f"loading {Path(model_path).name}")
    model = _load_keras(Path(model_path))
    writer = BundleWriter(out)
    try:
        manifest = _build_bundle(model, spec, sidecar, data, writer, config, step)
        writer.commit(manifest)
    except BaseException:
        writer.abort()
        raise
    load_bundle(out)  # the loader must accept what we wrote
    return manifest


def _load_keras(path: Path):
    keras = _deps.keras()
    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as exc:
        raise ModelLoadError(f"cannot load {path.name} with Keras 3: {str(exc).splitlines()[0]}") from exc


def _load_data(sidecar: dict, data_path: Path, config: ConvertConfig) -> _Data:
    columns, window, hop = sidecar["columns"], sidecar["window"], sidecar["hop"]
    scaler = StandardScaler.from_dict(sidecar["scaler"])
    features = feature_spec_from_dict(sidecar.get("features"))
    table = read_training_table(data_path, features, columns)
    same_file = sha256_file(data_path) == sidecar["data"]["sha256"]
    if same_file:
        start, end = sidecar["data"]["train_rows"]
        train, tail = table.values[start:end], table.values[sidecar["data"]["holdout_rows"][0] :]
        calib_source = f"held-out tail of {data_path.name} (rows {end}-{len(table.values)})"
    else:
        train, tail = table.values, table.values
        calib_source = f"{data_path.name} (not the training file)"
    if config.calibration_data is not None:
        tail = read_training_table(config.calibration_data, features, columns).values
        calib_source = f"{Path(config.calibration_data).name}"
    score = ScoreSpec.from_dict(sidecar.get("score")) if config.score is None else score_spec_for(config.score, train)
    score.check_channels(len(columns))
    return _Data(scaler, make_windows(train, window, hop), make_windows(tail, window, 1), calib_source, score)


def _build_bundle(model, spec, sidecar, data: _Data, writer: BundleWriter, config: ConvertConfig, step: Step) -> dict:
    representative = RepresentativeDataset(data.scaler.transform(data.train_raw), config.representative_count)
    batch1 = rebuild_batch1(model, spec)
    for name, (filename, fmt, _) in VARIANT_FILES.items():
        step(f"converting {name} -> {filename}")
        content = to_onnx(model, spec) if fmt == "onnx" else to_tflite(batch1, Precision(name), representative)
        writer.add(filename, content)
    scaled_calib = data.scaler.transform(data.calib_raw)
    step(f"scoring {len(scaled_calib)} held-out windows with Keras and each variant")
    reference = keras_scores(model, scaled_calib, data.score)
    windows_per_hour = _windows_per_hour(sidecar)
    decision = DecisionConfig(1.0, config.k, config.n, _cooldown_windows(config.cooldown_s, sidecar), config.release,
                              config.end_ratio)
    variants, thresholds = {}, {}
    for name, (filename, fmt, precision) in VARIANT_FILES.items():
        path = writer.staging / filename
        scores = variant_scores(fmt, path, data.scaler, data.calib_raw, data.score)
        choice = choose_threshold(scores, config.threshold, windows_per_hour, decision, hop=sidecar["hop"])
        thresholds[name] = choice
        variants[name] = {
            "file": filename,
            "format": fmt,
            "precision": precision,
            "threshold": choice.value,
            "agreement_with_keras": agreement(reference, scores, choice.value).to_dict(),
            "latency_ms_host": round(median_latency_ms(fmt, path, scaled_calib), 4),
            "bytes": path.stat().st_size,
        }
        if fmt == "tflite":
            variants[name]["io"] = _tflite_io(path)
    return _manifest(sidecar, data, config, variants, thresholds[config.default_variant], writer.files_entry())


def _windows_per_hour(sidecar: dict) -> float | None:
    rate = sidecar.get("sample_rate")
    return 3600.0 * rate / sidecar["hop"] if rate else None


def _cooldown_windows(cooldown_s: float, sidecar: dict) -> int:
    rate = sidecar.get("sample_rate")
    if cooldown_s <= 0:
        return 0
    if not rate:
        raise ConfigError("a cooldown in seconds needs the data's sample rate: add a timestamp column or --sample-rate")
    return math.ceil(cooldown_s * rate / sidecar["hop"])


def _tflite_io(path: Path) -> dict:
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=str(path))
    describe = lambda d: {  # noqa: E731
        "shape": [int(v) for v in d["shape"]],
        "dtype": np.dtype(d["dtype"]).name,
        "quantization": {"scale": float(d["quantization"][0]), "zero_point": int(d["quantization"][1])},
    }
    return {"input": describe(interp.get_input_details()[0]), "output": describe(interp.get_output_details()[0])}


def _manifest(sidecar, data: _Data, config: ConvertConfig, variants, choice, files) -> dict:
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "edgewatch-bundle",
        "model": {
            "name": config.model_name or sidecar["data"]["file"].rsplit(".", 1)[0] + "-ae",
            "family": sidecar["family"],
            "architecture": sidecar["architecture"],
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "trained_on": sidecar["data"],
        },
        "input": {
            "window": sidecar["window"],
            "hop": sidecar["hop"],
            "columns": sidecar["columns"],
            "sample_rate": sidecar.get("sample_rate"),
            "dtype": "float32",
            "shape": [1, sidecar["window"], len(sidecar["columns"])],
        },
        **({"features": sidecar["features"]} if "features" in sidecar else {}),
        "scaler": data.scaler.to_dict(),
        "score": {**data.score.to_dict(), "description": SCORE_DESCRIPTIONS[data.score.kind]},
        "threshold": {**choice.to_dict(), "variant": config.default_variant, "calibration_data": data.calib_source},
        "decision": {"k": config.k, "n": config.n, "cooldown_s": config.cooldown_s,
                     "release": config.release or 2 * config.n, "end_ratio": config.end_ratio},
        "representative_dataset": {"windows": min(config.representative_count, len(data.train_raw)),
                                   "sampling": "evenly spaced over the training windows"},
        "default_variant": config.default_variant,
        "variants": variants,
        "files": files,
    }
