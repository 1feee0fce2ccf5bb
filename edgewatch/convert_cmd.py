"""``edgewatch convert``: every variant built, pre-flighted, scored and timed; the default chosen by measurement."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from edgewatch.errors_cli import cli_errors
from edgewatch.progress import convert_with_status, print_variants

__all__ = ["convert_cmd"]

console = Console(stderr=True)


@cli_errors
def convert_cmd(
    model: Annotated[Path, typer.Option(exists=True, help="Trained model: .keras (with its .edgewatch.json sidecar), "
                                                          ".h5, a SavedModel directory or .onnx.")],
    data: Annotated[Path, typer.Option(exists=True, help="The data the model was trained on (representative "
                                                         "sample, held-out evaluation, threshold calibration).")],
    out: Annotated[Path, typer.Option(help="Bundle directory to write.")],
    max_drop: Annotated[float, typer.Option(help="Accuracy budget: how far a variant's metric may fall below the "
                                                 "Keras model's (0.005 = half a point).")] = 0.005,
    speed_tolerance: Annotated[float, typer.Option(help="Variants within this fraction of the fastest count as "
                                                        "fastest; the smallest of them becomes the default.")] = 0.25,
    variants: Annotated[Optional[str], typer.Option(help="Comma-separated variants to build (default: all).")] = None,
    default_variant: Annotated[Optional[str], typer.Option(help="Force the default instead of the measured "
                                                                "choice.")] = None,
    representative_count: Annotated[int, typer.Option(help="Windows in the representative dataset.")] = 300,
    calibration_method: Annotated[str, typer.Option(help="ONNX static calibration: minmax, percentile, "
                                                         "entropy.")] = "minmax",
    max_unroll_steps: Annotated[int, typer.Option(help="Longest window the unrolled INT8 variant is made "
                                                       "for.")] = 128,
    prune: Annotated[Optional[float], typer.Option(help="Prune this fraction (0.5: half the units/filters, or "
                                                        "of the weights with --prune-kind unstructured).")] = None,
    prune_kind: Annotated[str, typer.Option(help="structured (smaller and faster) or unstructured (only the "
                                                 "compressed download shrinks).")] = "structured",
    prune_epochs: Annotated[int, typer.Option(help="Fine-tuning epochs after pruning.")] = 5,
    percentile: Annotated[float, typer.Option(help="Threshold is at least this percentile of normal scores.")] = 99.5,
    false_alarms_per_hour: Annotated[float, typer.Option(help="Target false alarms per hour of normal data.")] = 1.0,
    margin: Annotated[float, typer.Option(help="Safety factor on the calibrated threshold (>= 1).")] = 1.25,
    min_confidence: Annotated[float, typer.Option(help="Classifiers: probability at which a non-background "
                                                       "label counts as a hit.")] = 0.8,
    background: Annotated[Optional[str], typer.Option(help="Classifiers: the label that raises no event "
                                                           "(default: 'background' or 'normal' if present).")] = None,
    k: Annotated[int, typer.Option(help="Hits among the last N windows that start an event.")] = 3,
    n: Annotated[int, typer.Option(help="Debounce span in windows.")] = 5,
    cooldown: Annotated[float, typer.Option(help="Seconds after an event before another may start.")] = 0.0,
    release: Annotated[Optional[int], typer.Option(help="Windows without a hit that end an event (default 2*N).")] = None,
    end_ratio: Annotated[Optional[float], typer.Option(help="A window below the event's peak divided by this also "
                                                            "counts as quiet, so an event ends when its disturbance "
                                                            "has passed; the next waits until a score is back under "
                                                            "the threshold (default: off).")] = None,
    calibration_data: Annotated[Optional[Path], typer.Option(help="Other normal CSV to calibrate the threshold "
                                                                  "on.")] = None,
    name: Annotated[Optional[str], typer.Option(help="Model name in the manifest and alerts.")] = None,
    score: Annotated[Optional[str], typer.Option(help="Autoencoder window score 'mse' or 'channel-max' (default: "
                                                      "the one training recorded).")] = None,
    plots: Annotated[bool, typer.Option(help="Write PNG plots beside report.json.")] = True,
    family: Annotated[Optional[str], typer.Option(help="A model without a sidecar: the family whose data format "
                                                       "and metrics apply (e.g. lstm_classifier).")] = None,
    hop: Annotated[Optional[int], typer.Option(help="A model without a sidecar: rows between windows "
                                                    "(default window/10).")] = None,
    label_column: Annotated[str, typer.Option(help="A model without a sidecar: the label column.")] = "label",
    scale: Annotated[bool, typer.Option(help="A model without a sidecar: standardise the columns (fitted on the "
                                             "data's training part); --no-scale if the model scales inside.")] = True,
) -> None:
    """Write a bundle: FP32, float16, dynamic, INT8 (fused and unrolled) TFLite, ONNX FP32/dynamic/QDQ, a report."""
    from calibration.dataset import CalibrationMethod
    from calibration.threshold import ThresholdPolicy
    from convert.foreign import ForeignOptions
    from convert.pipeline import ConvertConfig, PruneConfig
    from edge.errors import ConfigError

    if prune_kind not in ("structured", "unstructured"):
        raise ConfigError(f"--prune-kind must be structured or unstructured, got {prune_kind!r}")
    if prune is not None and not 0.0 < prune < 1.0:
        raise ConfigError(f"--prune must be a fraction in (0, 1), got {prune}")
    config = ConvertConfig(
        default_variant=default_variant, max_drop=max_drop, speed_tolerance=speed_tolerance,
        variants=tuple(v.strip() for v in variants.split(",")) if variants else None,
        representative_count=representative_count, calibration_method=CalibrationMethod.parse(calibration_method),
        max_unroll_steps=max_unroll_steps, k=k, n=n, cooldown_s=cooldown, release=release,
        end_ratio=end_ratio,
        threshold=ThresholdPolicy(percentile, false_alarms_per_hour, margin), calibration_data=calibration_data,
        model_name=name, score=score, min_confidence=min_confidence, background=background, plots=plots,
        prune=PruneConfig(prune, prune_kind, prune_epochs) if prune else None)
    foreign = ForeignOptions(family, hop, label_column, scale) if family else None
    manifest = convert_with_status(model, data, out, config, console, foreign)
    print_variants(manifest, console)
    console.print(f"wrote {out} (report: {out / 'report'})")
