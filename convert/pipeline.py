"""``edgewatch convert``: a trained model and its data in, every variant built, checked, measured, one chosen.

Steps: load the model and its sidecar; rebuild the held-out split; optionally
prune; build each variant (``convert.variants``) and pre-flight it; score it
against the Keras model on held-out data; measure its latency here; mark the
default (smallest among the fastest within ``max_drop``); write the bundle
atomically with a report (``report/report.json`` and PNG plots).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from calibration.dataset import DEFAULT_REPRESENTATIVE_COUNT, CalibrationMethod, make_windows
from calibration.threshold import ThresholdPolicy
from convert.assess import EvalData, ThresholdContext, assess_variants, evenly
from convert.bundle_writer import BundleWriter
from convert.data import Dataset
from convert.families import Task, get_family
from convert.foreign import ForeignOptions
from convert.layer_check import check_layers
from convert.loading import LoadedModel, load_trained
from calibration.drift import SCORE_CHOICES, score_spec_for
from convert.train import read_sidecar, training_rows
from edge.score import CLASS_CONFIDENCE, FORECAST_MSE, NEXT_TOKEN, ScoreSpec
from convert.manifest import build_manifest
from convert.preflight import preflight_artifact
from convert.recipes import load_dataset, options_from_sidecar, representative_for
from convert.report import write_report
from convert.variants import DEFAULT_MAX_UNROLL_STEPS, VARIANTS, Built, ConversionInputs, build_variants
from edge.bundle import load_bundle
from edge.choice import DEFAULT_SPEED_TOLERANCE, Candidate, choose_default, measure_latencies
from convert.recordings import read_training_table
from edge.features import feature_spec_from_dict
from edge.decide import DecisionConfig
from edge.errors import ConfigError

__all__ = ["ConvertConfig", "convert_model", "VARIANT_FILES", "DEFAULT_MAX_DROP"]

VARIANT_FILES = {name: (r.file, r.format, r.precision) for name, r in VARIANTS.items()}
DEFAULT_MAX_DROP = 0.005
Step = Callable[[str], None]


@dataclass(frozen=True)
class PruneConfig:
    """``fraction`` of units/filters removed (structured) or of weights zeroed (unstructured), then fine-tuned."""

    fraction: float
    kind: str = "structured"
    epochs: int = 5


@dataclass(frozen=True)
class ConvertConfig:
    """Conversion settings; the threshold and debounce defaults go into the manifest.

    ``default_variant`` ``None`` lets the measured choice pick it.
    """

    default_variant: str | None = None
    max_drop: float = DEFAULT_MAX_DROP
    speed_tolerance: float = DEFAULT_SPEED_TOLERANCE
    variants: tuple[str, ...] | None = None
    representative_count: int = DEFAULT_REPRESENTATIVE_COUNT
    calibration_method: CalibrationMethod = CalibrationMethod.MINMAX
    max_unroll_steps: int = DEFAULT_MAX_UNROLL_STEPS
    threshold: ThresholdPolicy = field(default_factory=ThresholdPolicy)
    k: int = 3
    n: int = 5
    cooldown_s: float = 0.0
    release: int | None = None
    end_ratio: float | None = None  # see edge.decide.DecisionConfig
    calibration_data: Path | None = None
    model_name: str | None = None
    min_confidence: float = 0.8
    background: str | None = None
    prune: PruneConfig | None = None
    latency_repeats: int = 300
    eval_limit: int = 2000
    plots: bool = True
    score: str | None = None  # autoencoder: "mse" or "channel-max"; None: what training recorded (else mse)

    def check(self) -> None:
        names = self.variants or tuple(VARIANTS)
        unknown = [v for v in names if v not in VARIANTS]
        if unknown:
            raise ConfigError(f"unknown variant(s) {', '.join(unknown)}; choose from {', '.join(VARIANTS)}")
        if self.default_variant is not None and self.default_variant not in names:
            raise ConfigError(f"--default-variant must be one of {', '.join(names)}")
        if not 0.0 <= self.max_drop < 1.0:
            raise ConfigError(f"--max-drop must be in [0, 1), got {self.max_drop}")
        if self.score is not None and self.score not in SCORE_CHOICES:
            raise ConfigError(f"--score must be one of {', '.join(SCORE_CHOICES)}, got {self.score!r}")
        if not 0.0 < self.min_confidence <= 1.0:
            raise ConfigError(f"--min-confidence must be in (0, 1], got {self.min_confidence}")
        DecisionConfig(1.0, self.k, self.n, 0, self.release, self.end_ratio)  # bad settings fail before work


def convert_model(model_path: Path, data_path: Path, out: Path, config: ConvertConfig, step: Step = print,
                  foreign: ForeignOptions | None = None) -> dict:
    """Convert ``model_path`` into a bundle at ``out``; returns the manifest.

    A model without a sidecar needs ``foreign`` (its family, hop, label column, scaling).
    """
    config.check()
    step(f"loading {Path(model_path).name}")
    loaded, family, dataset, advice = _load(Path(model_path), Path(data_path), foreign)
    pruning = None
    if config.prune is not None:
        from convert.prune import prune_model

        step(f"pruning {config.prune.fraction:.0%} ({config.prune.kind}) and fine-tuning")
        loaded, pruning = prune_model(loaded, family, dataset, config.prune)
    writer = BundleWriter(out)
    try:
        manifest, report = _build_bundle(loaded, family, dataset, Path(data_path), writer, config, step)
        report["pruning"] = pruning
        report["layer_advice"] = manifest["layer_advice"] = [vars(a) for a in advice]
        manifest["pruning"] = pruning
        write_report(writer.staging / "report", report, plots=config.plots)
        writer.commit(manifest)
    except BaseException:
        writer.abort()
        raise
    load_bundle(out)  # the loader must accept what we wrote
    return manifest


def _load(model_path: Path, data_path: Path, foreign: ForeignOptions | None):
    """The model, its family, its data split as in training, and the layer advice."""
    if read_sidecar(model_path) is None and foreign is not None:
        from convert.foreign import load_foreign

        loaded, family, advice = load_foreign(model_path, data_path, foreign)
        dataset = load_dataset(family.name, data_path, _options(loaded.sidecar), scaler=loaded.scaler)
        return loaded, family, dataset, advice
    loaded = load_trained(model_path)
    advice = check_layers(loaded.model)
    family = get_family(loaded.sidecar["family"])
    return loaded, family, load_dataset(family.name, data_path, _options(loaded.sidecar), scaler=loaded.scaler), advice


_options = options_from_sidecar


def _build_bundle(loaded: LoadedModel, family, dataset: Dataset, data_path: Path, writer: BundleWriter,
                  config: ConvertConfig, step: Step) -> tuple[dict, dict]:
    representative = representative_for(dataset, config.representative_count)
    onnx_source = getattr(loaded.model, "content", None)  # an ONNX model given as is
    inputs = ConversionInputs(loaded.model, family, loaded.spec, representative, config.calibration_method,
                              config.max_unroll_steps, onnx_source)
    results = build_variants(inputs, list(config.variants or VARIANTS), step)
    built = {name: r for name, r in results.items() if isinstance(r, Built)}
    preflight = {}
    for name, result in built.items():
        path = writer.add(result.recipe.file, result.content)
        preflight[name] = preflight_artifact(path, result.recipe.format).to_dict()
    paths = {name: (r.recipe.format, writer.staging / r.recipe.file) for name, r in built.items()}
    task = family.task
    eval_data = _eval_data(task, dataset, loaded.sidecar, config)
    context = _threshold_context(loaded.sidecar, config) if task in (Task.RECONSTRUCT, Task.FORECAST) else None
    spec = score_spec(family, loaded, data_path, config)
    assessed = assess_variants(task, loaded.model, paths, eval_data, config.max_drop, context, spec, step)
    step(f"measuring latency of {len(paths)} variants side by side")
    sample = evenly(eval_data.inputs, 200)
    latency = measure_latencies(paths, sample, repeats=config.latency_repeats)
    if onnx_source is None:
        latency["keras_eager"] = _keras_eager_latency(loaded.model, sample)
    # the figures the manifest records (4 decimals), so anyone can re-derive the choice from it
    candidates = [Candidate(n, paths[n][1].stat().st_size, round(latency[n]["median_ms"], 4),
                            assessed[n].verdict["within_budget"]) for n in paths]
    fallback = "fp32" if "fp32" in paths else next(iter(paths))
    picked = choose_default(candidates, config.speed_tolerance)
    chosen = config.default_variant or picked or fallback
    how = "--default-variant" if config.default_variant else \
        f"smallest among the fastest (within {config.speed_tolerance:.0%}) within the budget" if picked else \
        f"no variant within the budget: {fallback} (the float reference) kept"
    manifest = build_manifest(loaded, family, data_path, config, results, assessed, preflight, latency,
                              representative, chosen, how, writer.files_entry(), writer.staging, spec)
    report = {"model": manifest["model"], "task": task.value, "max_drop": config.max_drop, "default_variant": chosen,
              "choice": how, "latency_ms": latency, "variants": manifest["variants"],
              "skipped": manifest["skipped_variants"], "held_out_inputs": int(len(eval_data.inputs)),
              "scores": {n: a.scores.tolist() for n, a in assessed.items() if a.scores is not None}}
    return manifest, report


def score_spec(family, loaded: LoadedModel, data_path: Path, config: ConvertConfig) -> ScoreSpec:
    """The runtime head of the bundle: how the device turns the model's output into a score."""
    sidecar, task = loaded.sidecar, family.task
    if task is not Task.RECONSTRUCT and config.score not in (None, "mse"):
        raise ConfigError("--score chooses the autoencoder's reconstruction score; other families have their own")
    if task is Task.RECONSTRUCT:
        spec = ScoreSpec.from_dict(sidecar.get("score")) if config.score is None else \
            score_spec_for(config.score, training_rows(data_path, sidecar))
        spec.check_channels(len(sidecar["columns"]))
        return spec
    if task is Task.FORECAST:
        return ScoreSpec(FORECAST_MSE, horizon=int(loaded.spec.horizon))
    if task is Task.CLASSIFY:
        labels = sidecar.get("labels") or []
        background = config.background or next((b for b in ("background", "normal") if b in labels), None)
        if background is not None and background not in labels:
            raise ConfigError(f"--background {background!r} is not a label; the labels are {', '.join(labels)}")
        return ScoreSpec(CLASS_CONFIDENCE, background=labels.index(background) if background else None)
    return ScoreSpec(NEXT_TOKEN)


def _eval_data(task: Task, dataset: Dataset, sidecar: dict, config: ConvertConfig) -> EvalData:
    inputs, targets = evenly(dataset.x_test, config.eval_limit), evenly(dataset.y_test, config.eval_limit)
    if config.calibration_data is None or task not in (Task.RECONSTRUCT, Task.FORECAST):
        return EvalData(inputs, targets)
    from edge.scaler import StandardScaler

    features = feature_spec_from_dict(sidecar.get("features"))
    table = read_training_table(config.calibration_data, features, sidecar["columns"])
    windows = StandardScaler.from_dict(sidecar["scaler"]).transform(make_windows(table.values, sidecar["window"], 1))
    horizon = sidecar["window"] - int(sidecar["architecture"]["window"])
    calib_in, calib_target = (windows[:, :-horizon], windows[:, -horizon:]) if task is Task.FORECAST \
        else (windows, windows)
    return EvalData(inputs, targets, calib_in, calib_target)


def _threshold_context(sidecar: dict, config: ConvertConfig) -> ThresholdContext:
    rate, hop = sidecar.get("sample_rate"), sidecar["hop"]
    cooldown = 0
    if config.cooldown_s > 0:
        if not rate:
            raise ConfigError("a cooldown in seconds needs the data's sample rate: add a timestamp column or "
                              "--sample-rate")
        cooldown = math.ceil(config.cooldown_s * rate / hop)
    decision = DecisionConfig(1.0, config.k, config.n, cooldown, config.release, config.end_ratio)
    return ThresholdContext(config.threshold, 3600.0 * rate / hop if rate else None, decision, hop)


def _keras_eager_latency(model, sample: np.ndarray, repeats: int = 10) -> dict:
    """Keras 3 eager ``model(x)`` on one window (the notebook baseline; slow, so few repeats)."""
    import time

    times = []
    for i in range(repeats + 2):
        began = time.perf_counter()
        np.asarray(model(sample[i % len(sample)][None], training=False))
        times.append((time.perf_counter() - began) * 1000.0)
    return {"median_ms": float(np.median(times[2:])), "p90_ms": float(np.percentile(times[2:], 90)), "runs": repeats}
