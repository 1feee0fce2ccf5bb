"""``edgewatch bench --bundle B``: re-measure every variant's latency on this device and, with ``--repick``,
make the smallest among the fastest within the budget the default. Light install only (no TensorFlow)."""

from __future__ import annotations

import platform
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from edgewatch.errors_cli import cli_errors

__all__ = ["bench", "probe_inputs"]

console = Console(stderr=True)


def probe_inputs(manifest: dict, count: int = 64, seed: int = 0) -> np.ndarray:
    """Generated model inputs of the bundle's shape: scaled-normal windows, or token ids within the vocabulary."""
    rng = np.random.default_rng(seed)
    shape = tuple(manifest["input"]["shape"][1:])
    if manifest["input"].get("dtype") == "int32":
        vocabulary = len(manifest.get("text", {}).get("vocabulary", [])) + 1
        return rng.integers(1, max(2, vocabulary), (count, *shape)).astype(np.int32)
    return rng.standard_normal((count, *shape)).astype(np.float32)


@cli_errors
def bench(
    bundle: Annotated[Path, typer.Option(exists=True, file_okay=False, help="Bundle written by 'edgewatch convert'.")],
    repick: Annotated[bool, typer.Option(help="Make the smallest among the fastest variants within the accuracy "
                                              "budget the default, by this device's figures.")] = False,
    repeats: Annotated[int, typer.Option(help="Timed windows per variant.")] = 500,
    tolerance: Annotated[float, typer.Option(help="Variants within this fraction of the fastest count as "
                                                  "fastest.")] = 0.25,
) -> None:
    """Latency of every variant here, side by side (batch 1, one thread), against the converting host's."""
    from edge.bundle import load_bundle, set_default_variant
    from edge.choice import Candidate, choose_default, measure_latencies

    loaded = load_bundle(bundle)
    models = {name: (v.format, v.path) for name, v in loaded.variants.items()}
    with console.status(f"timing {len(models)} variants"):
        latency = measure_latencies(models, probe_inputs(loaded.manifest), repeats=repeats)
    candidates = [Candidate(n, v.path.stat().st_size, latency[n]["median_ms"],
                            bool(v.info.get("budget", {}).get("within_budget", True)))
                  for n, v in loaded.variants.items()]
    picked = choose_default(candidates, tolerance)
    table = Table(title=f"{loaded.model_name} on {platform.machine()} (default: {loaded.default_variant})")
    for column in ("variant", "bytes", "ms here", "ms on host", "within budget"):
        table.add_column(column, justify="right")
    for c in candidates:
        host = loaded.variants[c.name].info.get("latency_ms_host")
        mark = " *" if c.name == picked else ""
        table.add_row(c.name + mark, f"{c.bytes:,}", f"{c.latency_ms:.4f}", f"{host:.4f}" if host else "-",
                      "yes" if c.within_budget else "no")
    console.print(table)
    console.print(f"smallest among the fastest within budget here: {picked} (marked *)")
    if repick and picked and picked != loaded.default_variant:
        evidence = {"picked": picked, "previous": loaded.default_variant, "machine": platform.machine(),
                    "measured": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    "latency_ms": {n: round(v["median_ms"], 5) for n, v in latency.items()}}
        set_default_variant(bundle, picked, evidence)
        console.print(f"default variant is now {picked} (was {loaded.default_variant}); manifest rewritten")
    elif repick:
        console.print("default variant unchanged")
