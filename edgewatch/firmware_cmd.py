"""``edgewatch export-firmware``: a bundle's INT8 model as TensorFlow Lite Micro sources.

Register in ``edgewatch/cli.py`` with ``app.command("export-firmware")(export_firmware)``;
until then, ``python -m edgewatch.firmware_cmd --bundle B --out DIR`` runs it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from edgewatch.errors_cli import cli_errors

__all__ = ["export_firmware", "TARGETS"]

TARGETS = ("tflm",)
console = Console(stderr=True)


@cli_errors
def export_firmware(
    bundle: Annotated[Path, typer.Option(exists=True, file_okay=False, help="Bundle written by 'edgewatch convert'.")],
    out: Annotated[Path, typer.Option(help="Directory for the C/C++ sources (created).")],
    target: Annotated[str, typer.Option(help="Firmware runtime: tflm (TensorFlow Lite Micro).")] = "tflm",
    model: Annotated[Optional[Path], typer.Option(
        exists=True, dir_okay=False, help="The bundle's trained .keras model, rebuilt without TILE (which TFLite Micro "
                                          "lacks; the LSTM autoencoder's RepeatVector becomes TILE).")] = None,
    data: Annotated[Optional[Path], typer.Option(
        exists=True, dir_okay=False, help="With --model: its training CSV (calibrates INT8 as 'edgewatch convert' did).")] = None,
    arena_margin: Annotated[float, typer.Option(help="Safety margin on the measured tensor arena (0.25: +25%).")] = 0.25,
    symbol: Annotated[str, typer.Option(help="C name of the model array; its length is <symbol>_len.")] = "g_model_data",
) -> None:
    """Write the INT8 model as a C array, its op resolver, tensor arena size and a one-window example."""
    from edge.bundle import load_bundle
    from edge.errors import ConfigError
    from firmware_bridge.export import FirmwareOptions, export_tflm, int8_variant
    from firmware_bridge.export.carray import check_symbol

    if target not in TARGETS:
        raise ConfigError(f"--target must be one of: {', '.join(TARGETS)}")
    if (model is None) != (data is None):
        raise ConfigError("--model and --data go together: the rebuild is calibrated on the training CSV")
    if arena_margin < 0:
        raise ConfigError("--arena-margin must be >= 0")
    try:
        check_symbol(symbol)
    except ValueError as exc:
        raise ConfigError(f"--symbol: {exc}") from None
    loaded = load_bundle(bundle)
    variant = int8_variant(loaded)
    options = FirmwareOptions(symbol=symbol, arena_margin=arena_margin)
    if model is None:
        tflite, source, extra = variant.path.read_bytes(), f"bundle {loaded.model_name}, {variant.path.name}", {}
    else:
        tflite, source, options, extra = _rebuild(loaded, variant, model, data, options)
    with console.status("checking the ops, measuring the tensor arena, running TFLite Micro"):
        result = export_tflm(tflite, loaded, out, source, options, extra)
    _print(result)


def _rebuild(bundle, variant, model: Path, data: Path, options):
    """The autoencoder rebuilt without TILE, and its agreement with the bundle's INT8 model."""
    from dataclasses import replace

    from convert.mcu import check_bundle_match, convert_for_mcu
    from firmware_bridge.export.agreement import compare_litert_models

    check_bundle_match(model, bundle.manifest)
    count = int(bundle.manifest.get("representative_dataset", {}).get("windows", 300))
    with console.status("rebuilding the autoencoder without TILE, converting to full INT8"):
        conversion = convert_for_mcu(model, data, representative_count=count)
    label = f"{len(conversion.windows)} held-out windows of {data.name}"
    same = compare_litert_models(variant.path, conversion.tflite, conversion.windows, label)
    extra = {"mcu_rebuild": {
        "from": model.name, "repeat": "RESHAPE + BROADCAST_TO instead of RepeatVector's TILE, same weights",
        "float_max_abs_diff_vs_tile_model": conversion.float_max_abs_diff,
        "int8_vs_bundle_variant_litert": same.to_dict()}}
    console.print(f"rebuilt {model.name} without TILE: float max |diff| {conversion.float_max_abs_diff:.3g}; "
                  f"INT8 vs the bundle's {variant.path.name} under LiteRT: max {same.max_lsb} LSB "
                  f"({same.fraction_exact:.2%} identical) on {label}")
    source = f"{bundle.model_name} rebuilt without TILE from {model.name}"
    return conversion.tflite, source, replace(options, check_windows=conversion.windows, check_label=label), extra


def _print(result) -> None:
    arena, agree = result.arena, result.agreement
    resolver = f"tflite::MicroMutableOpResolver<{len(result.ops)}>"
    console.print(f"ops ({len(result.ops)}): {', '.join(result.ops)} -> {resolver}")
    kind = "measured minimum" if arena.measured else "estimate"
    console.print(f"tensor arena: {arena.recommended:,} bytes ({kind} {arena.base:,} + {arena.margin:.0%})")
    if agree is None:
        console.print("TFLite Micro is not installed: arena estimated, model not run in TFLite Micro "
                      "(pip install 'edgewatch[firmware]')")
    else:
        console.print(f"TFLite Micro vs LiteRT, same INT8 inputs: max {agree.max_lsb} LSB, {agree.fraction_exact:.2%} "
                      f"identical, {agree.fraction_within_1_lsb:.3%} within 1 LSB ({agree.inputs})")
    for note in result.notes:
        console.print(f"[yellow]note:[/yellow] {note}")
    console.print(f"wrote {len(result.files)} files to {result.out}: {', '.join(result.files)}")


if __name__ == "__main__":
    typer.run(export_firmware)
