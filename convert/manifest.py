"""The bundle manifest (``docs/manifest.schema.json``) written from a conversion's results."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from calibration.dataset import RepresentativeDataset
from convert.families import Family, Task
from convert.variants import Built, Skipped
from edge.bundle import SCHEMA_VERSION
from edge.score import CHANNEL_MAX_MSE, CLASS_CONFIDENCE, FORECAST_MSE, NEXT_TOKEN, RECONSTRUCTION_MSE, ScoreSpec

__all__ = ["build_manifest", "tflite_io"]

_DESCRIPTIONS = {
    RECONSTRUCTION_MSE: "mean squared error over the scaled window",
    CHANNEL_MAX_MSE: "largest per-channel mean squared error in the scaled window, residuals times channel_weights",
    FORECAST_MSE: "mean squared error of the forecast of the window's last rows from the rows before them (scaled)",
    CLASS_CONFIDENCE: "probability of the most likely label that is not the background label",
    NEXT_TOKEN: "next-token probabilities, sampled by edgewatch generate",
}


def tflite_io(path: Path) -> dict:
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=str(path))
    describe = lambda d: {  # noqa: E731
        "shape": [int(v) for v in d["shape"]],
        "dtype": np.dtype(d["dtype"]).name,
        "quantization": {"scale": float(d["quantization"][0]), "zero_point": int(d["quantization"][1])},
    }
    return {"input": describe(interp.get_input_details()[0]), "output": describe(interp.get_output_details()[0])}


def _variant_entry(result: Built, assessed, preflight: dict, latency: dict, staging: Path) -> dict:
    recipe = result.recipe
    entry = {"file": recipe.file, "format": recipe.format, "precision": recipe.precision, "graph": recipe.graph,
             "bytes": len(result.content), "latency_ms_host": round(latency[recipe.name]["median_ms"], 4),
             "metrics": {k: round(v, 6) for k, v in assessed.metrics.items()}, "budget": assessed.verdict,
             "ops": preflight["ops"], "targets": preflight["targets"]}
    if assessed.threshold is not None:
        entry["threshold"] = assessed.threshold.value
        entry["agreement_with_keras"] = {
            "windows": assessed.threshold.calibration_windows, **{k: round(assessed.metrics[k], 7) for k in (
                "score_correlation", "max_abs_score_diff", "median_rel_score_diff")},
            "decision_agreement": round(assessed.metrics.get("detection_f1", 1.0), 6)}
    if recipe.format == "tflite":
        entry["io"] = tflite_io(staging / recipe.file)
    return entry


def _threshold(family: Family, assessed: dict, chosen: str, config, calibration_source: str) -> dict:
    if family.task in (Task.RECONSTRUCT, Task.FORECAST):
        choice = assessed[chosen].threshold
        return {**choice.to_dict(), "variant": chosen, "calibration_data": calibration_source}
    return {"value": config.min_confidence, "method": "confidence", "margin": 1.0, "percentile": None,
            "calibration_windows": 0, "variant": chosen, "calibration_data": None,
            "note": "an event starts when k of n windows give a non-background label at least this probability"}


def build_manifest(loaded, family: Family, data_path: Path, config, results: dict, assessed: dict,
                   preflight: dict, latency: dict, representative: RepresentativeDataset, chosen: str, how: str,
                   files: dict, staging: Path, score: ScoreSpec) -> dict:
    """The manifest of a conversion; ``staging`` is where the variant files are (read for their I/O details)."""
    sidecar, spec = loaded.sidecar, loaded.spec
    built = {n: r for n, r in results.items() if isinstance(r, Built)}
    variants = {n: _variant_entry(r, assessed[n], preflight[n], latency, staging) for n, r in built.items()}
    for name, entry in variants.items():
        entry.setdefault("threshold", config.min_confidence)
    source = config.calibration_data.name if config.calibration_data else f"held-out part of {Path(data_path).name}"
    labels = sidecar.get("labels")
    manifest = {
        "schema_version": SCHEMA_VERSION,
        "kind": "edgewatch-bundle",
        "model": {"name": config.model_name or f"{Path(sidecar['data']['file']).stem}-{family.name}",
                  "family": family.name, "task": family.task.value, "architecture": spec.to_dict(),
                  "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                  "trained_on": sidecar["data"]},
        "input": {"window": sidecar["window"], "hop": sidecar["hop"], "columns": sidecar["columns"],
                  "sample_rate": sidecar.get("sample_rate"), "dtype": spec.input_dtype,
                  "shape": [1, *spec.input_shape]},
        "scaler": sidecar["scaler"],
        "score": _score(family, score, labels),
        "threshold": _threshold(family, assessed, chosen, config, source),
        "decision": {"k": config.k, "n": config.n, "cooldown_s": config.cooldown_s,
                     "release": config.release or 2 * config.n, "end_ratio": config.end_ratio},
        "representative_dataset": {**representative.describe(), "calibration_method": config.calibration_method.value},
        "default_variant": chosen,
        "choice": {"rule": how, "max_drop": config.max_drop},
        "variants": variants,
        "skipped_variants": {n: r.reason for n, r in results.items() if isinstance(r, Skipped)},
        "files": files,
    }
    if sidecar.get("features"):
        manifest["features"] = sidecar["features"]
    if sidecar.get("frame_shape"):
        manifest["input"]["frame_shape"] = sidecar["frame_shape"]
    if labels:
        manifest["labels"] = labels
    if sidecar.get("text"):
        manifest["text"] = sidecar["text"]
    return manifest


def _score(family: Family, score: ScoreSpec, labels) -> dict:
    entry = {**score.to_dict(), "description": _DESCRIPTIONS[score.kind]}
    if score.kind == CLASS_CONFIDENCE:
        entry["background"] = labels[score.background] if score.background is not None else None
    return entry
