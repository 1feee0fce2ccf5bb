"""Bundle INT8 model -> TensorFlow Lite Micro sources, checked before anything is written."""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edge.bundle import Bundle, Variant
from edge.errors import BundleError, ConfigError, ModelLoadError
from firmware_bridge.export import sources
from firmware_bridge.export.agreement import (Agreement, compare_outputs, litert_int8_outputs, quantize_windows,
                                              synthetic_windows, tflm_int8_outputs)
from firmware_bridge.export.arena import ArenaSize, arena_for
from firmware_bridge.export.carray import c_array_sources, check_symbol
from firmware_bridge.export.ops import TFLM_RESOLVER_METHODS, model_ops, preflight
from firmware_bridge.export.tflm import tflm_version

__all__ = ["FirmwareOptions", "FirmwareExport", "int8_variant", "export_tflm", "MODEL_HEADER", "TFLITE_NAME",
           "REPORT_NAME"]

MODEL_HEADER, TFLITE_NAME, REPORT_NAME = "model_data.h", "model.tflite", "firmware.json"


@dataclass(frozen=True)
class FirmwareOptions:
    """Export settings.

    Attributes:
        symbol: C name of the model array (its length is ``<symbol>_len``).
        arena_margin: fraction added to the measured (or estimated) arena.
        check_windows: scaled float windows ``(n, window, channels)`` for the TFLite Micro vs
            LiteRT check; ``None`` uses 64 seeded standard-normal windows.
        check_label: what ``check_windows`` are, for the report.
    """

    symbol: str = "g_model_data"
    arena_margin: float = 0.25
    check_windows: np.ndarray | None = None
    check_label: str = "64 seeded standard-normal windows (no data given)"


@dataclass(frozen=True)
class FirmwareExport:
    """What ``export_tflm`` wrote and measured; ``report`` is also saved as ``firmware.json``."""

    out: Path
    files: tuple[str, ...]
    ops: tuple[str, ...]
    arena: ArenaSize
    agreement: Agreement | None
    notes: tuple[str, ...] = field(default=())
    report: dict = field(default_factory=dict)


def int8_variant(bundle: Bundle) -> Variant:
    """The bundle's full-INT8 TFLite variant; ``BundleError`` if it has none."""
    for variant in bundle.variants.values():
        if variant.format == "tflite" and variant.precision == "int8":
            return variant
    raise BundleError(f"bundle {bundle.root} has no full-INT8 TFLite variant; re-run edgewatch convert")


def export_tflm(model: bytes, bundle: Bundle, out: Path, source: str, options: FirmwareOptions = FirmwareOptions(),
                extra: dict | None = None) -> FirmwareExport:
    """Check ``model`` for TFLite Micro and write its sources to ``out``.

    Args:
        model: a full-INT8 ``.tflite`` (int8 input and output) of ``bundle``'s model.
        bundle: the verified bundle (scaler, window, threshold come from its manifest).
        out: directory to write (created; files of the same names are replaced).
        source: one line saying where ``model`` comes from.
        options: symbol name, arena margin and check windows.
        extra: more entries for the report.

    Returns:
        The files, ops, arena size and TFLite Micro vs LiteRT agreement.

    Raises:
        ConfigError: ``options.symbol`` is not a C identifier.
        UnsupportedOpsError: the model uses ops TFLite Micro lacks (nothing is written).
        ModelLoadError: the model is not full INT8, or TFLite Micro cannot run it.
    """
    try:
        check_symbol(options.symbol)
    except ValueError as exc:
        raise ConfigError(f"symbol: {exc}") from exc
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / TFLITE_NAME
        path.write_bytes(model)
        ops = model_ops(path)
        preflight(ops)
        contract, notes = _contract(path, bundle, source)
        arena = arena_for(path, options.arena_margin)
        agreement = _agreement(path, model, arena, contract, options) if arena.measured else None
    files = _render(model, ops, contract, arena, options.symbol)
    report = _report(model, ops, contract, arena, agreement, notes, sorted(files) + [TFLITE_NAME, REPORT_NAME])
    report.update(extra or {})
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8")
    (out / TFLITE_NAME).write_bytes(model)
    (out / REPORT_NAME).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return FirmwareExport(out, tuple(report["files"]), tuple(ops), arena, agreement, tuple(notes), report)


def _io(path: Path) -> tuple[dict, dict]:
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=str(path))
    source, sink = interp.get_input_details()[0], interp.get_output_details()[0]
    if np.dtype(source["dtype"]) != np.int8 or np.dtype(sink["dtype"]) != np.int8:
        raise ModelLoadError(f"TFLite Micro export needs a full-INT8 model with int8 input and output; this one "
                             f"has {np.dtype(source['dtype']).name} in, {np.dtype(sink['dtype']).name} out")
    return source, sink


def _contract(path: Path, bundle: Bundle, source: str) -> tuple[sources.ModelContract, list[str]]:
    model_in, model_out = _io(path)
    expected = [1, bundle.input.window, bundle.input.channels]
    if [int(v) for v in model_in["shape"]] != expected:
        raise ModelLoadError(f"the model takes {list(model_in['shape'])}, the bundle's manifest says {expected}")
    variant, notes = int8_variant(bundle), []
    stated = variant.info.get("io", {}).get("input", {}).get("quantization", {})
    if stated and (stated.get("scale"), stated.get("zero_point")) != tuple(model_in["quantization"]):
        notes.append(f"the model's input quantization {tuple(model_in['quantization'])} differs from the bundle's "
                     f"INT8 variant ({stated.get('scale')}, {stated.get('zero_point')}): the calibrated threshold "
                     "may not carry over")
    contract = sources.ModelContract(
        name=bundle.model_name, source=source, window=bundle.input.window, columns=bundle.input.columns,
        scaler_mean=bundle.scaler.mean, scaler_scale=bundle.scaler.scale,
        threshold=float(variant.info.get("threshold", bundle.threshold)),
        input_scale=float(model_in["quantization"][0]), input_zero_point=int(model_in["quantization"][1]),
        output_scale=float(model_out["quantization"][0]), output_zero_point=int(model_out["quantization"][1]))
    return contract, notes


def _agreement(path: Path, model: bytes, arena: ArenaSize, contract, options: FirmwareOptions) -> Agreement:
    windows, label = options.check_windows, options.check_label
    if windows is None:
        windows = synthetic_windows(64, (1, contract.window, len(contract.columns)))
    inputs = quantize_windows(windows, contract.input_scale, contract.input_zero_point)[:, None]
    return compare_outputs(tflm_int8_outputs(model, arena.recommended, inputs),
                           litert_int8_outputs(path, inputs), label)


def _render(model: bytes, ops: list[str], contract, arena: ArenaSize, symbol: str) -> dict[str, str]:
    files = c_array_sources(model, symbol, f"Model: {contract.source}.", MODEL_HEADER)
    files[sources.SETTINGS_H] = sources.settings_header(contract, arena.recommended, arena.method)
    files[sources.RESOLVER_H] = sources.resolver_header(ops, contract.source)
    files[sources.EXAMPLE_CC] = sources.example_source(contract, symbol, MODEL_HEADER)
    return files


def _report(model, ops, contract, arena: ArenaSize, agreement, notes, files) -> dict:
    return {
        "kind": "edgewatch-firmware",
        "target": "tflm",
        "model": {"name": contract.name, "source": contract.source, "bytes": len(model),
                  "sha256": hashlib.sha256(model).hexdigest()},
        "ops": ops,
        "resolver": {"type": f"tflite::MicroMutableOpResolver<{len(ops)}>",
                     "methods": [TFLM_RESOLVER_METHODS[op] for op in ops]},
        "arena": arena.to_dict(),
        "io": {"input": {"scale": contract.input_scale, "zero_point": contract.input_zero_point},
               "output": {"scale": contract.output_scale, "zero_point": contract.output_zero_point}},
        "agreement_tflm_vs_litert": agreement.to_dict() if agreement else None,
        "tflite_micro": tflm_version(),
        "files": files,
        "notes": notes,
    }
