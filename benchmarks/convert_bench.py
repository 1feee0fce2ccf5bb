"""Conversion benchmark: every model family, every variant, side by side in one run, with and without pruning.

Per family: generate data (``edgewatch.synth``, ``edgewatch.synth_data``), train with
``convert.train``, convert with ``convert.pipeline`` (all variants, measured choice within
``--max-drop``), then again with structured pruning. Prints per variant: bytes and the ratio to the
FP32 TFLite, median latency per window here (all variants timed interleaved in the same run, batch 1,
one thread) and its ratio to FP32 TFLite and to Keras 3 eager ``model(x)``, the agreement metric and
the budget verdict; then checks the issue's targets for the chosen variant:

    size       chosen >= 3.5x smaller than FP32 TFLite; with structured pruning >= 6x
    latency    chosen no slower than FP32 TFLite, and >= 200x faster than Keras eager
    agreement  classifier argmax >= 99.5 %, autoencoder score correlation >= 0.999

    .venv/bin/python benchmarks/convert_bench.py [--families lstm_autoencoder,lstm_classifier] [--json out.json]
    bash scripts/setup.sh bench
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from importlib.metadata import PackageNotFoundError, version  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from convert.pipeline import ConvertConfig, PruneConfig, convert_model  # noqa: E402
from convert.train import TrainConfig, train_model  # noqa: E402
from edgewatch import synth_data  # noqa: E402
from edgewatch.synth import generate  # noqa: E402

# family -> (data writer, file name, training settings): sizes a user would start from
# (classifiers: 40 features per frame, as 40 log-mel bands or MFCCs from a microphone)
_EVENTS = lambda p: synth_data.write_labelled_events(p, rows=12000, channels=40)  # noqa: E731
SETUPS = {
    "lstm_autoencoder": (lambda p: generate(8000, seed=0).write_csv(p), "pump.csv", dict(window=60, units=64)),
    "lstm_forecaster": (lambda p: generate(8000, seed=0).write_csv(p), "pump.csv", dict(window=60, units=64)),
    "lstm_classifier": (_EVENTS, "events.csv",
                        dict(window=40, units=64)),
    "bilstm_classifier": (_EVENTS, "events.csv",
                          dict(window=40, units=64)),
    "gru_classifier": (_EVENTS, "events.csv",
                       dict(window=40, units=64)),
    "cnn_lstm": (lambda p: synth_data.write_frames(p, count=600), "frames.npz", dict(units=64, filters=16)),
    "text_classifier": (lambda p: synth_data.write_text_reviews(p, count=2000), "reviews.csv",
                        dict(window=40, units=64, embedding=32)),
    "char_generator": (lambda p: synth_data.write_char_text(p, sentences=1500), "chars.txt",
                       dict(window=32, units=128, hop=2)),
}
AGREEMENT_TARGET = {"classify": ("argmax_agreement", 0.995), "generate": ("argmax_agreement", 0.995),
                    "reconstruct": ("score_correlation", 0.999), "forecast": ("score_correlation", 0.999)}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--families", default=",".join(SETUPS), help="comma-separated families (default: all)")
    parser.add_argument("--epochs", type=int, default=12, help="most training epochs (default 12)")
    parser.add_argument("--max-drop", type=float, default=0.005, help="accuracy budget (default 0.005)")
    parser.add_argument("--prune", type=float, default=0.5, help="structured pruning fraction (default 0.5; 0: off)")
    parser.add_argument("--repeats", type=int, default=300, help="timed windows per variant (default 300)")
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    parser.add_argument("--markdown", type=Path, help="print the README table from a --json file and exit")
    return parser.parse_args(argv)


def markdown_table(summaries: dict) -> str:
    """One row per family: the chosen variant against FP32 TFLite and Keras eager, and with pruning."""
    lines = ["| family | FP32 TFLite | chosen | bytes (x smaller) | ms/window (x vs FP32 TFLite) | x vs Keras eager "
             "| agreement | pruned 50 %: chosen, bytes (x smaller) | pruned Keras metric before -> after |",
             "|---|---|---|---|---|---|---|---|---|"]
    for family, s in summaries.items():
        metric = AGREEMENT_TARGET[s["task"]][0]
        fp32, chosen = s["variants"]["fp32"], s["variants"][s["chosen"]]
        row = [family, f"{fp32['bytes']:,} B, {fp32['ms']:.3f} ms", s["chosen"],
               f"{chosen['bytes']:,} ({chosen['x_smaller']:.2f}x)",
               f"{chosen['ms']:.3f} ({chosen['x_faster_than_fp32']:.2f}x)",
               f"{chosen['x_faster_than_keras']:.0f}x" if chosen["x_faster_than_keras"] else "-",
               f"{metric.replace('_', ' ')} {chosen[metric]:.4f}"]
        pruned = s.get("pruned")
        if pruned:
            before, after = pruned["pruning"]["before"], pruned["pruning"]["after"]
            key = "accuracy" if "accuracy" in before else "mse"
            row += [f"{pruned['chosen']}, {pruned['bytes']:,} ({pruned['x_smaller_than_unpruned_fp32']:.2f}x)",
                    f"{key} {before[key]:.4f} -> {after[key]:.4f}"]
        else:
            row += ["-", "-"]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def machine_info() -> dict:
    def ver(name):
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"
    packages = ("tensorflow", "keras", "tf-keras", "ai-edge-litert", "onnxruntime", "tf2onnx", "numpy")
    return {"platform": platform.platform(), "python": platform.python_version(), "cpu_count": os.cpu_count(),
            "versions": {p: ver(p) for p in packages}}


def run_family(family: str, root: Path, args) -> dict:
    writer, name, settings = SETUPS[family]
    data = root / name
    if not data.exists():
        writer(data)
    began = time.perf_counter()
    trained = train_model(data, root / f"{family}.keras", TrainConfig(family=family, epochs=args.epochs, **settings))
    result = {"train_s": time.perf_counter() - began, "epochs": trained.epochs_run,
              "architecture": trained.sidecar["architecture"]}
    base = ConvertConfig(max_drop=args.max_drop, latency_repeats=args.repeats, plots=False)
    began = time.perf_counter()
    result["plain"] = convert_model(trained.model_path, data, root / f"{family}_bundle", base, step=lambda _: None)
    result["convert_s"] = time.perf_counter() - began
    if args.prune > 0:
        pruned = ConvertConfig(max_drop=args.max_drop, latency_repeats=args.repeats, plots=False,
                               prune=PruneConfig(args.prune, "structured", 5))
        result["pruned"] = convert_model(trained.model_path, data, root / f"{family}_pruned", pruned,
                                         step=lambda _: None)
    return result


def _keras_ms(manifest: dict, root: Path) -> float | None:
    report = json.loads((root / "report" / "report.json").read_text())
    return report["latency_ms"].get("keras_eager", {}).get("median_ms")


def summarise(family: str, result: dict, root: Path) -> dict:
    plain = result["plain"]
    task = plain["model"]["task"]
    metric, target = AGREEMENT_TARGET[task]
    fp32 = plain["variants"]["fp32"]
    keras_ms = _keras_ms(plain, root / f"{family}_bundle")
    chosen_name = plain["default_variant"]
    chosen = plain["variants"][chosen_name]
    rows = {n: {"bytes": v["bytes"], "x_smaller": fp32["bytes"] / v["bytes"], "ms": v["latency_ms_host"],
                "x_faster_than_fp32": fp32["latency_ms_host"] / v["latency_ms_host"],
                "x_faster_than_keras": (keras_ms / v["latency_ms_host"]) if keras_ms else None,
                metric: v["metrics"].get(metric), "within_budget": v["budget"]["within_budget"],
                "verdict": v["budget"]["reason"]} for n, v in plain["variants"].items()}
    summary = {"task": task, "architecture": result["architecture"], "keras_eager_ms": keras_ms,
               "chosen": chosen_name, "variants": rows, "skipped": plain["skipped_variants"],
               "checks": {"size_3.5x": fp32["bytes"] / chosen["bytes"] >= 3.5,
                          "no_slower_than_fp32": chosen["latency_ms_host"] <= fp32["latency_ms_host"] * 1.02,
                          "200x_keras": bool(keras_ms and keras_ms / chosen["latency_ms_host"] >= 200),
                          f"{metric}>={target}": chosen["metrics"].get(metric, 0) >= target}}
    if "pruned" in result:
        pruned = result["pruned"]
        p_chosen = pruned["variants"][pruned["default_variant"]]
        summary["pruned"] = {"chosen": pruned["default_variant"], "bytes": p_chosen["bytes"],
                             "x_smaller_than_unpruned_fp32": fp32["bytes"] / p_chosen["bytes"],
                             "ms": p_chosen["latency_ms_host"], "pruning": pruned["pruning"],
                             metric: p_chosen["metrics"].get(metric)}
        summary["checks"]["pruned_size_6x"] = fp32["bytes"] / p_chosen["bytes"] >= 6.0
    return summary


def print_summary(family: str, s: dict) -> None:
    metric = AGREEMENT_TARGET[s["task"]][0]
    print(f"\n== {family} {s['architecture']}  (Keras eager {s['keras_eager_ms']:.1f} ms/window)")
    print(f"  {'variant':<15}{'bytes':>10}{'x smaller':>11}{'ms':>9}{'vs fp32':>9}{'vs Keras':>10}"
          f"{metric:>20}  verdict")
    for name, r in s["variants"].items():
        mark = "*" if name == s["chosen"] else " "
        keras = f"{r['x_faster_than_keras']:.0f}x" if r["x_faster_than_keras"] else "-"
        print(f" {mark}{name:<15}{r['bytes']:>10,}{r['x_smaller']:>10.2f}x{r['ms']:>9.4f}"
              f"{r['x_faster_than_fp32']:>8.2f}x{keras:>10}{r[metric]:>20.5f}  {r['verdict']}")
    for name, reason in s["skipped"].items():
        print(f"  skipped {name}: {reason}")
    if "pruned" in s:
        p = s["pruned"]
        before, after = p["pruning"]["before"], p["pruning"]["after"]
        keras_metric = "accuracy" if "accuracy" in before else "mse"
        print(f"  structured pruning {p['pruning']['architecture_before']} -> {p['pruning']['architecture_after']}: "
              f"Keras {keras_metric} {before[keras_metric]:.4f} -> {after[keras_metric]:.4f}, fp32 latency "
              f"{before['fp32_latency_ms']:.4f} -> {after['fp32_latency_ms']:.4f} ms; chosen {p['chosen']} "
              f"{p['bytes']:,} B = {p['x_smaller_than_unpruned_fp32']:.2f}x smaller than unpruned FP32 TFLite")
    print("  targets: " + ", ".join(f"{k} {'PASS' if v else 'FAIL'}" for k, v in s["checks"].items()))


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.markdown:
        print(markdown_table(json.loads(args.markdown.read_text())["families"]))
        return 0
    info = machine_info()
    print(f"machine {info['platform']}, {info['cpu_count']} CPUs, Python {info['python']}")
    print("versions " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()))
    summaries, began = {}, time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="edgewatch-bench-") as tmp:
        for family in args.families.split(","):
            result = run_family(family, Path(tmp), args)
            summaries[family] = summarise(family, result, Path(tmp))
            print_summary(family, summaries[family])
            sys.stdout.flush()
    print(f"\nTotal {time.perf_counter() - began:.0f} s. LiteRT and onnxruntime: 1 thread, batch 1, state reset "
          "per window; every ratio is between figures measured in the same run.")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"machine": info, "families": summaries}, indent=2, default=float) + "\n")
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
