"""Device benchmark: the runtime-only install against TensorFlow, in one run.

Builds a runtime-only virtualenv (``pip install .``, no extras: no TensorFlow),
then streams one model through ``edge-infer`` from that venv (LiteRT, then
onnxruntime) into a private Mosquitto, and runs the same INT8 ``.tflite``
through TensorFlow's own ``tf.lite.Interpreter`` in a process that imports
TensorFlow, as a host-side script would. Per process: peak RSS (VmHWM)
while streaming at the data's pace, seconds from process start to the first
scored window (``/proc``) when the data is already there (an unpaced run, so
the figure is start-up, not waiting for a window's worth of samples), and bare
import time. Goals: peak RSS <= 60 MB and first inference <= 1 s.

    .venv/bin/python benchmarks/device.py                       # trains a small model first (~1 min)
    .venv/bin/python benchmarks/device.py --bundle B --venv V   # reuse a bundle and a runtime venv
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edgewatch.broker import LocalBroker  # noqa: E402
from edgewatch.synth import generate  # noqa: E402

GOAL_RSS_MB, GOAL_FIRST_S = 60.0, 1.0

TF_STREAM = """
import os, sys, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import tensorflow as tf
from edge.backends.tflite_interpreter import TFLiteInterpreterBackend
from edge.bundle import load_bundle
from edge.csvdata import read_table
from edge.procinfo import seconds_since_process_start
from edge.score import WindowScorer
from edge.window import SlidingWindow
bundle = load_bundle(sys.argv[1])
backend = TFLiteInterpreterBackend(bundle.variant("int8").path, 1, tf.lite.Interpreter)
scorer = WindowScorer(bundle.scaler, backend)
table = read_table(sys.argv[2], bundle.input.columns)
windows = SlidingWindow(bundle.input.window, bundle.input.hop, bundle.input.channels)
rate, first, count, began = float(sys.argv[3]), None, 0, time.monotonic()
for i in range(0, len(table.values), 64):
    for window in windows.push(table.values[i:i + 64]):
        scorer(window.values)
        count += 1
        first = first if first is not None else seconds_since_process_start()
    if rate > 0:
        time.sleep(max(0.0, began + (i + 64) / rate - time.monotonic()))
print(f"first window scored {first:.2f} s after the process started; windows {count}", file=sys.stderr)
"""


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, check=True, capture_output=True, text=True, **kwargs)


def make_bundle(work: Path) -> Path:
    generate(8000, seed=11).write_csv(work / "normal.csv")
    cli = [sys.executable, "-m", "edgewatch.cli"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    run(cli + ["train", "autoencoder", "--data", str(work / "normal.csv"), "--out", str(work / "m.keras"),
               "--units", "32", "--epochs", "5"], env=env)
    run(cli + ["convert", "--model", str(work / "m.keras"), "--data", str(work / "normal.csv"),
               "--out", str(work / "bundle")], env=env)
    return work / "bundle"


def make_runtime_venv(path: Path) -> None:
    run([sys.executable, "-m", "venv", str(path)])
    run([str(path / "bin" / "python"), "-m", "pip", "install", "-q", str(ROOT)], timeout=900)


def dir_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink()) / 1e6


def site_packages(venv: Path) -> Path:
    return next((venv / "lib").glob("python3*/site-packages"))


def largest(venv: Path, n: int = 5) -> str:
    sizes = sorted(((dir_mb(p), p.name) for p in site_packages(venv).iterdir() if p.is_dir()
                    and not p.name.endswith(("dist-info", "__pycache__"))), reverse=True)[:n]
    return ", ".join(f"{name} {mb:.0f}" for mb, name in sizes)


def _high_water_mb(pid: int) -> float | None:
    """The process's own peak RSS (VmHWM: per address space, reset at exec, unlike ru_maxrss after a fork)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            line = next(line for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return None
    return int(line.split()[1]) / 1024


def measure(command: list[str], env: dict | None = None) -> dict:
    """Run to completion, sampling VmHWM; the child's own 'first window scored' line gives the start-up time."""
    peak = 0.0
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err, env={**os.environ, **(env or {})})
        while proc.poll() is None:
            peak = max(peak, _high_water_mb(proc.pid) or 0.0)
            time.sleep(0.05)
        err.seek(0)
        text = err.read()
    if proc.returncode != 0:
        raise SystemExit(f"{command[0]} failed ({proc.returncode}):\n{text[-2000:]}")
    first = re.search(r"first window scored ([\d.]+) s", text)
    return {"rss_mb": peak, "first_s": float(first.group(1)) if first else float("nan"),
            "summary": text.strip().splitlines()[0]}


def import_seconds(python: Path, module: str, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        began = time.perf_counter()
        run([str(python), "-c", f"import {module}"], env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
        best = min(best, time.perf_counter() - began)
    return best


def paced_stream(work: Path, rows: int, rate: float) -> Path:
    """Generated pump data with timestamps ``1/rate`` s apart, so --rate real takes rows/rate seconds."""
    raw = work / "raw.csv"
    generate(rows, seed=12).write_csv(raw)
    lines = raw.read_text().splitlines()
    out = [lines[0]] + [f"{1_767_600_000 + i / rate:.3f}," + line.split(",", 1)[1] for i, line in
                        enumerate(lines[1:])]
    (work / "stream.csv").write_text("\n".join(out) + "\n")
    return work / "stream.csv"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, help="bundle to stream (default: train and convert one)")
    parser.add_argument("--venv", type=Path, help="runtime-only venv to reuse (default: build one in a temp dir)")
    parser.add_argument("--seconds", type=float, default=20.0, help="streaming time per process (default 20)")
    parser.add_argument("--rate", type=float, default=100.0, help="rows per second streamed (default 100)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="edgewatch-device-bench-") as tmp:
        work = Path(tmp)
        bundle = args.bundle or make_bundle(work)
        venv = args.venv or work / "runtime-venv"
        began = time.perf_counter()
        if not args.venv:
            make_runtime_venv(venv)
        installed = run([str(venv / "bin" / "python"), "-m", "pip", "list", "--format=freeze"]).stdout
        assert "tensorflow" not in installed.lower(), "the runtime install pulled in TensorFlow"
        print(f"runtime-only venv: {dir_mb(venv):.0f} MB ({len(installed.splitlines())} packages, built in "
              f"{time.perf_counter() - began:.0f} s); largest in MB: {largest(venv)}")
        dev = Path(sys.executable).parents[1]
        tf_mb = dir_mb(site_packages(dev) / "tensorflow")
        print(f"TensorFlow alone in the host venv: {tf_mb:.0f} MB (whole host venv {dir_mb(dev):.0f} MB)")
        stream = paced_stream(work, int(args.seconds * args.rate), args.rate)
        rows = {}
        with LocalBroker() as broker:
            for backend in ("litert", "onnxruntime"):
                infer = [str(venv / "bin" / "edge-infer"), "--bundle", str(bundle), "--source", f"file:{stream}",
                         "--mqtt", broker.url, "--device-id", f"bench-{backend}", "--backend", backend,
                         "--outbox", str(work / f"{backend}.sqlite"), "--quiet"]
                paced, unpaced = measure(infer + ["--rate", "real"]), measure(infer + ["--rate", "max"])
                rows[f"edge-infer, {backend}"] = {**paced, "first_s": unpaced["first_s"]}
        tf = [sys.executable, "-c", TF_STREAM, str(bundle), str(stream)]
        paced = measure(tf + [str(args.rate)], env={"PYTHONPATH": str(ROOT)})
        unpaced = measure(tf + ["0"], env={"PYTHONPATH": str(ROOT)})
        rows["TensorFlow tf.lite.Interpreter"] = {**paced, "first_s": unpaced["first_s"]}
        imports = {"edge-infer, litert": import_seconds(venv / "bin" / "python", "edgewatch.infer"),
                   "TensorFlow tf.lite.Interpreter": import_seconds(Path(sys.executable), "tensorflow")}
        report(rows, imports, args)
    return 0


def report(rows: dict, imports: dict, args: argparse.Namespace) -> None:
    base = rows["TensorFlow tf.lite.Interpreter"]
    print(f"\nstreaming {args.seconds:g} s at {args.rate:g} rows/s, one INT8 model, one thread:\n")
    print(f"{'process':<34}{'peak RSS MiB':>12}{'vs TF':>8}{'first window s':>16}{'vs TF':>8}{'import s':>10}")
    print(f"{'':<34}{'(paced)':>12}{'':>8}{'(unpaced)':>16}")
    for name, row in rows.items():
        imported = f"{imports[name]:.2f}" if name in imports else "-"
        print(f"{name:<34}{row['rss_mb']:>12.1f}{row['rss_mb'] / base['rss_mb']:>8.2f}"
              f"{row['first_s']:>16.2f}{row['first_s'] / base['first_s']:>8.2f}{imported:>10}")
    lite = rows["edge-infer, litert"]
    verdict = lambda ok: "met" if ok else "MISSED"  # noqa: E731
    print(f"\ngoal peak RSS <= {GOAL_RSS_MB:g} MiB: {verdict(lite['rss_mb'] <= GOAL_RSS_MB)} "
          f"({lite['rss_mb']:.1f} MiB); goal first inference <= {GOAL_FIRST_S:g} s after process start: "
          f"{verdict(lite['first_s'] <= GOAL_FIRST_S)} ({lite['first_s']:.2f} s)")
    print(f"edge-infer summary: {lite['summary']}")


if __name__ == "__main__":
    sys.exit(main())
