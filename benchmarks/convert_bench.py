"""Conversion benchmark: train, convert, then compare sizes, latency and agreement of each variant.

One run generates synthetic pump data (``edgewatch.synth``), trains the LSTM autoencoder
(``convert.train``), converts it into a bundle (``convert.pipeline``: FP32, dynamic-range and
full-INT8 TFLite plus ONNX) and measures, at batch 1 on held-out windows, the Keras 3 eager
baseline against each variant run through ``edge.backends.open_backend`` (one thread, state
reset per window, INT8 quantize/dequantize included). About 2 minutes on 2 cores; Keras eager
(~0.3 s a window) is timed on ``--keras-repeats`` windows.

    bash scripts/setup.sh bench [--units 32 --repeats 500 --json out.json]
    .venv/bin/python benchmarks/convert_bench.py --help
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

from calibration.dataset import make_windows  # noqa: E402
from convert import _deps  # noqa: E402
from convert.pipeline import VARIANT_FILES, ConvertConfig, convert_model  # noqa: E402
from convert.train import TrainConfig, train_autoencoder  # noqa: E402
from edge.backends import open_backend  # noqa: E402
from edge.csvdata import read_table  # noqa: E402
from edge.scaler import StandardScaler  # noqa: E402
from edgewatch.synth import generate  # noqa: E402

LABELS = {"fp32": "LiteRT FP32", "dynamic": "LiteRT dynamic", "int8": "LiteRT INT8", "onnx": "onnxruntime FP32"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--units", type=int, default=32, help="LSTM units (default 32)")
    parser.add_argument("--rows", type=int, default=6000, help="normal rows to generate (default 6000)")
    parser.add_argument("--epochs", type=int, default=3, help="training epochs (default 3)")
    parser.add_argument("--repeats", type=int, default=500, help="timed windows per runtime (default 500)")
    parser.add_argument("--keras-repeats", type=int, default=100,
                        help="timed windows for Keras eager, ~0.2-0.3 s each here (default 100)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed windows first (default 20)")
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    return parser.parse_args(argv)


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def machine_info() -> dict:
    packages = ("tensorflow", "keras", "tf-keras", "ai-edge-litert", "onnxruntime", "tf2onnx", "numpy")
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "versions": {name: _version(name) for name in packages},
    }


def build_bundle(workdir: Path, args: argparse.Namespace) -> dict:
    """Generate data, train and convert with the project's code; returns paths, manifest and timings."""
    data_path = generate(args.rows, seed=0).write_csv(workdir / "pump.csv")
    began = time.perf_counter()
    trained = train_autoencoder(data_path, workdir / "model.keras", TrainConfig(units=args.units, epochs=args.epochs))
    train_s = time.perf_counter() - began
    began = time.perf_counter()
    bundle = workdir / "bundle"
    manifest = convert_model(trained.model_path, data_path, bundle, ConvertConfig(), step=lambda msg: print(f"  {msg}"))
    return {
        "data": data_path, "model": trained.model_path, "bundle": bundle, "manifest": manifest,
        "sidecar": trained.sidecar, "epochs_run": trained.epochs_run, "val_loss": trained.best_val_loss,
        "train_s": train_s, "convert_s": time.perf_counter() - began,
    }


def held_out_windows(sidecar: dict, data_path: Path) -> np.ndarray:
    """Scaled batch-1 windows (1 row apart) from the calibration tail the model never trained on."""
    table = read_table(data_path, sidecar["columns"])
    tail = table.values[sidecar["data"]["holdout_rows"][0]:]
    scaled = StandardScaler.from_dict(sidecar["scaler"]).transform(make_windows(tail, sidecar["window"], 1))
    return np.ascontiguousarray(scaled, dtype=np.float32)[:, None]


def time_per_window(run, windows: np.ndarray, repeats: int, warmup: int) -> dict:
    """Median / p90 / mean wall time in ms of ``run(window)``, cycling through ``windows``."""
    for i in range(warmup):
        run(windows[i % len(windows)])
    times = np.empty(repeats)
    for i in range(repeats):
        window = windows[i % len(windows)]
        began = time.perf_counter()
        run(window)
        times[i] = (time.perf_counter() - began) * 1000.0
    return {"median_ms": float(np.median(times)), "p90_ms": float(np.percentile(times, 90)),
            "mean_ms": float(times.mean()), "repeats": repeats}


def measure_latency(built: dict, windows: np.ndarray, args: argparse.Namespace) -> dict:
    keras = _deps.keras()
    model = keras.saving.load_model(built["model"], compile=False)
    results = {"keras": time_per_window(lambda w: np.asarray(model(w, training=False)), windows,
                                        args.keras_repeats, min(args.warmup, 5))}
    for name, (filename, fmt, _) in VARIANT_FILES.items():
        backend = open_backend(fmt, built["bundle"] / filename)
        try:
            results[name] = time_per_window(backend.run, windows, args.repeats, args.warmup)
        finally:
            backend.close()
    return results


def sizes(built: dict) -> dict:
    return {name: (built["bundle"] / filename).stat().st_size for name, (filename, _, _) in VARIANT_FILES.items()}


def print_machine(info: dict) -> None:
    print(f"machine   {info['platform']} ({info['machine']}), {info['cpu_count']} CPUs, Python {info['python']}")
    print("versions  " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()))


def print_sizes(size: dict) -> None:
    print("\nFile sizes")
    print(f"  {'variant':<18}{'bytes':>10}{'vs FP32 TFLite':>16}")
    for name, nbytes in size.items():
        print(f"  {LABELS[name]:<18}{nbytes:>10,}{nbytes / size['fp32']:>15.2f}x")


def _factor(value: float) -> str:
    return f"{value:.0f}x" if value >= 100 else f"{value:.2f}x" if value >= 0.1 else f"{value:.2g}x"


def print_latency(latency: dict) -> None:
    print(f"\nLatency per window, batch 1, {latency['fp32']['repeats']} windows "
          f"({latency['keras']['repeats']} for Keras); speedup = baseline time / this time")
    print(f"  {'runtime':<20}{'median ms':>11}{'p90 ms':>10}{'vs Keras':>11}{'vs LiteRT FP32':>16}")
    base, fp32 = latency["keras"]["median_ms"], latency["fp32"]["median_ms"]
    for name, figures in latency.items():
        label = "Keras 3 eager" if name == "keras" else LABELS[name]
        median = figures["median_ms"]
        print(f"  {label:<20}{median:>11.3f}{figures['p90_ms']:>10.3f}"
              f"{_factor(base / median):>11}{_factor(fp32 / median):>16}")


def print_agreement(manifest: dict) -> None:
    print("\nAgreement with Keras on held-out windows (from the manifest; threshold chosen per variant)")
    print(f"  {'variant':<18}{'windows':>8}{'score corr':>12}{'max |diff|':>12}{'med rel diff':>14}"
          f"{'decisions':>11}{'threshold':>11}")
    for name, variant in manifest["variants"].items():
        agree = variant["agreement_with_keras"]
        print(f"  {LABELS[name]:<18}{agree['windows']:>8}{agree['score_correlation']:>12.6f}"
              f"{agree['max_abs_score_diff']:>12.2e}{agree['median_rel_score_diff']:>14.2e}"
              f"{agree['decision_agreement']:>10.2%}{variant['threshold']:>11.4f}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    info = machine_info()
    print_machine(info)
    with tempfile.TemporaryDirectory(prefix="edgewatch-bench-") as tmp:
        print(f"\nTraining ({args.rows} rows, window 60, {args.units} units, {args.epochs} epochs) and converting")
        built = build_bundle(Path(tmp), args)
        print(f"  trained {built['epochs_run']} epochs in {built['train_s']:.1f} s (best val loss "
              f"{built['val_loss']:.4f}); converted and verified in {built['convert_s']:.1f} s")
        windows = held_out_windows(built["sidecar"], built["data"])
        size = sizes(built)
        latency = measure_latency(built, windows, args)
    manifest = built["manifest"]
    print_sizes(size)
    print_latency(latency)
    print_agreement(manifest)
    total = time.perf_counter() - started
    print(f"\nLiteRT and onnxruntime run with 1 thread; Keras eager uses TensorFlow's default threads. "
          f"Total {total:.0f} s.")
    if args.json:
        figures = {"machine": info, "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
                   "training": {"epochs_run": built["epochs_run"], "best_val_loss": built["val_loss"],
                                "train_s": built["train_s"], "convert_s": built["convert_s"]},
                   "bytes": size, "latency": latency, "total_s": total,
                   "agreement_with_keras": {n: v["agreement_with_keras"] for n, v in manifest["variants"].items()},
                   "thresholds": {n: v["threshold"] for n, v in manifest["variants"].items()}}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
