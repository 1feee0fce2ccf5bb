"""The conversion report: ``report.json`` and PNG plots people would rather look at than read.

    sizes_latency.png   file size and latency here per variant, the default marked
    agreement.png       each variant's budgeted metric against the Keras model
    scores.png          held-out score histograms with each threshold (score tasks)
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

__all__ = ["write_report", "table_rows", "KEY_METRIC"]

KEY_METRIC = {"classify": "argmax_agreement", "generate": "argmax_agreement", "reconstruct": "score_correlation",
              "forecast": "score_correlation"}


def table_rows(report: dict) -> list[dict]:
    """One row per variant for the terminal table: size, latency, key metric, verdict, default."""
    rows, base = [], report["variants"].get("fp32", {}).get("bytes")
    metric = KEY_METRIC[report["task"]]
    for name, v in report["variants"].items():
        rows.append({"variant": name, "bytes": v["bytes"], "vs_fp32": (base / v["bytes"]) if base else None,
                     "latency_ms": v["latency_ms_host"], metric: v["metrics"].get(metric),
                     "budget": v["budget"]["reason"], "within": v["budget"]["within_budget"],
                     "default": name == report["default_variant"]})
    return rows


def write_report(directory: Path, report: dict, plots: bool = True) -> list[Path]:
    """Write ``report.json`` (without the raw scores) and, if matplotlib is there, the plots."""
    directory.mkdir(parents=True, exist_ok=True)
    scores = report.pop("scores", {})
    written = [directory / "report.json"]
    if plots:
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            report["plots"] = "matplotlib is not installed: pip install 'edgewatch[convert]'"
        else:
            written += _plots(directory, report, scores, plt)
            report["plots"] = [p.name for p in written[1:]]
    written[0].write_text(json.dumps(report, indent=2, default=float) + "\n", encoding="utf-8")
    return written


def _plots(directory: Path, report: dict, scores: dict, plt) -> list[Path]:
    names = list(report["variants"])
    colours = ["tab:green" if n == report["default_variant"] else
               "tab:blue" if report["variants"][n]["budget"]["within_budget"] else "tab:red" for n in names]
    paths = [_bar_pair(directory / "sizes_latency.png", names, colours, plt,
                       ("file size (KB)", [report["variants"][n]["bytes"] / 1024 for n in names]),
                       ("latency per window here (ms)", [report["variants"][n]["latency_ms_host"] for n in names]))]
    metric = KEY_METRIC[report["task"]]
    values = [report["variants"][n]["metrics"].get(metric, np.nan) for n in names]
    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.bar(names, values, color=colours)
    ax.axhline(1.0 - report["max_drop"], color="black", linestyle="--", label=f"1 - max drop ({report['max_drop']})")
    ax.set_ylim(max(0.0, min(values) - 0.02), 1.002)
    ax.set_ylabel(metric.replace("_", " "))
    ax.set_title("agreement with the Keras model (green: default, red: over budget)")
    ax.legend(loc="lower left")
    ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    fig.savefig(directory / "agreement.png", dpi=100)
    plt.close(fig)
    paths.append(directory / "agreement.png")
    if scores:
        paths.append(_histograms(directory / "scores.png", report, scores, plt))
    return paths


def _bar_pair(path: Path, names, colours, plt, *panels) -> Path:
    fig, axes = plt.subplots(1, len(panels), figsize=(11, 3.8))
    for ax, (label, values) in zip(axes, panels):
        ax.bar(names, values, color=colours)
        ax.set_ylabel(label)
        ax.tick_params(axis="x", rotation=40)
    fig.suptitle("per variant (green: default, red: over the accuracy budget)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _histograms(path: Path, report: dict, scores: dict, plt) -> Path:
    fig, ax = plt.subplots(figsize=(8, 3.8))
    top = max(np.percentile(s, 99.9) for s in scores.values())
    bins = np.linspace(0.0, top * 1.1, 60)
    for name, values in scores.items():
        emphasis = name == report["default_variant"]
        ax.hist(np.asarray(values), bins=bins, histtype="step", linewidth=2.0 if emphasis else 0.8, label=name)
        threshold = report["variants"][name].get("threshold")
        if emphasis and threshold is not None:
            ax.axvline(threshold, color="black", linestyle="--", label=f"threshold ({name}) {threshold:.4g}")
    ax.set_xlabel("score on held-out normal windows")
    ax.set_ylabel("windows")
    ax.set_yscale("log")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
