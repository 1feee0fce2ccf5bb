"""SKAB benchmark: the LSTM autoencoder, Keras FP32 and INT8 on the device path, next to SKAB's leaderboard.

SKAB (Skoltech Anomaly Benchmark, GPL-3.0) is read from where it lives: ``../shared/datasets/skab``
beside the checkout, or ``--skab DIR``; nothing of it is copied here.

Protocol mode (SKAB's own, ``core/utils.py`` + its LSTM-AE notebook): per file, the first 400 rows
train (the scaler is fitted on them), the rest test; one model per file (34 models); the threshold is
chosen on the training windows' scores only, never on test labels. Every test row gets a prediction:
the decision made when a window completes belongs to the window's last row (causal, what the device
shows at that moment); rows before the first full test window are normal. Rows are pooled over all
23,801 test rows with SKAB's formulas (``skab_metrics``, checked against the leaderboard's saved
predictions). Each configuration runs for several seeds (``--seeds``): the summary gives mean, min
and max, so a target is met by every seed or not at all.

    (a) Keras FP32: the trained Keras model, batched, scored by the same ``edge.score.ScoreSpec``.
    (b) INT8: each model converted with ``convert.export`` (representative dataset = its training
        windows) and streamed through ``edge.window.SlidingWindow`` -> ``edge.backends.open_backend``
        -> ``edge.score.WindowScorer`` -> ``edge.decide.Decider``, the code ``edge-infer`` runs, in
        chunks of 64 rows.

Both are scored the two ways ``edgewatch train/convert --score`` offers (``calibration.drift.score_spec_for``):
``mse`` (mean squared error of the scaled window) and ``channel-max`` (the worst channel's error,
slow-drifting channels down-weighted by their drift ratio). Threshold and debounce are the toolkit's
defaults (``convert.pipeline.ConvertConfig``). SKAB's own rule (residual > 1.5 x the 99th percentile,
with its look-ahead) is shown for the Keras model as a sanity check of the training.

Strict mode (first seed): one model trained with ``convert.train`` (``--score channel-max``) on
``anomaly-free.csv`` (its last 20 % held out), converted by ``convert.pipeline`` into a real bundle
whose thresholds come from that held-out tail; then all 34 experiments streamed in full through the
bundle's INT8 variant with the scorer ``edge.model.load_model`` builds from the manifest.

Event level (both modes): segment recall, alarm precision, median/p90 detection delay (seconds).

    .venv/bin/python benchmarks/skab.py            # 3 seeds + strict mode: ~34 min on 2 shared cores
    .venv/bin/python benchmarks/skab.py --quick    # every 3rd file, 1 seed, fewer epochs: ~3 min
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
sys.path.insert(0, str(Path(__file__).resolve().parent))

from skab_metrics import TRAIN_ROWS, SkabFile, binary_counts, read_skab_csv, require_skab_dir, skab_files  # noqa: E402
from skab_report import Tally, print_summary, print_table, summarize  # noqa: E402
from calibration.dataset import RepresentativeDataset, make_windows  # noqa: E402
from calibration.drift import SCORE_CHOICES, score_spec_for  # noqa: E402
from calibration.threshold import choose_threshold  # noqa: E402
from convert import _deps  # noqa: E402
from convert.autoencoder import AutoencoderSpec, build_autoencoder  # noqa: E402
from convert.export import Precision, rebuild_batch1, to_tflite  # noqa: E402
from convert.pipeline import ConvertConfig  # noqa: E402
from edge.backends import open_backend  # noqa: E402
from edge.decide import Decider, DecisionConfig  # noqa: E402
from edge.scaler import StandardScaler  # noqa: E402
from edge.score import ScoreSpec, WindowScorer  # noqa: E402
from edge.window import SlidingWindow  # noqa: E402

SAMPLE_RATE = 1.0  # SKAB samples at 1 Hz
HOP = 1  # SKAB decides every row
CHUNK_ROWS = 64  # as edge.sources.file.CsvFileSource
DEFAULTS = ConvertConfig()  # what `edgewatch convert` uses unless told otherwise


# -- the device path -------------------------------------------------------------------------


def decision(threshold: float) -> DecisionConfig:
    return DecisionConfig(float(threshold), DEFAULTS.k, DEFAULTS.n, 0, DEFAULTS.release)


def calibrate(scores: np.ndarray) -> float:
    """The toolkit's threshold (default policy) from normal-window scores 1 row apart."""
    return choose_threshold(scores, DEFAULTS.threshold, 3600.0 * SAMPLE_RATE / HOP, decision(1.0), hop=HOP).value


def decide_rows(scores: np.ndarray, threshold: float, window: int, rows: int) -> np.ndarray:
    """Feed window scores (window ``j`` covers rows ``j .. j+window-1``) to the Decider; 0/1 per row."""
    decider = Decider(decision(threshold))
    pred = np.zeros(rows, np.int8)
    for j, score in enumerate(scores):
        decider.update(float(score))
        pred[j + window - 1] = decider.active
    return pred


def stream_rows(values: np.ndarray, scorers: dict, thresholds: dict, window: int) -> dict[str, np.ndarray]:
    """Stream raw rows in chunks through SlidingWindow -> each scorer -> its Decider; 0/1 per row each."""
    windows = SlidingWindow(window, HOP, values.shape[1])
    deciders = {key: Decider(decision(thresholds[key])) for key in scorers}
    preds = {key: np.zeros(len(values), np.int8) for key in scorers}
    for start in range(0, len(values), CHUNK_ROWS):
        for w in windows.push(values[start : start + CHUNK_ROWS]):
            for key, scorer in scorers.items():
                deciders[key].update(scorer(w.values))
                preds[key][w.end - 1 : w.end - 1 + HOP] = deciders[key].active
    return preds


class SharedBackend:
    """Runs the wrapped backend once per distinct window, so several scorers share one inference."""

    def __init__(self, backend) -> None:
        self.backend, self._last_in, self._last_out = backend, None, None

    def run(self, window: np.ndarray) -> np.ndarray:
        if self._last_in is None or not np.array_equal(window, self._last_in):
            self._last_in, self._last_out = np.array(window, copy=True), self.backend.run(window)
        return self._last_out

    def close(self) -> None:
        self.backend.close()


def skab_lookahead_rows(hits: np.ndarray, window: int, rows: int) -> np.ndarray:
    """SKAB's notebooks: row ``i`` is flagged when windows ``i-window+1 .. i-1`` all exceed UCL
    (a look-ahead of window-2 rows; the last 2*window-1 rows are never flagged)."""
    pred = np.zeros(rows, np.int8)
    for i in range(window - 1, len(hits) - window + 1):
        if np.all(hits[i - window + 1 : i]):
            pred[i] = 1
    return pred


# -- protocol mode ------------------------------------------------------------------------------


class FileTrainer:
    """One compiled Keras autoencoder, re-initialised for every file (34 fits without 34 graph traces)."""

    def __init__(self, window: int, channels: int, units: int, learning_rate: float, seed: int) -> None:
        self.keras = _deps.keras()
        self.keras.utils.set_random_seed(seed)
        self.spec = AutoencoderSpec(window, channels, units)
        self.model = build_autoencoder(self.keras, self.spec)
        self.model.compile(optimizer=self.keras.optimizers.Adam(learning_rate), loss="mse",
                           jit_compile=True, steps_per_execution=16)
        self.model.optimizer.build(self.model.trainable_variables)
        self._initial = [w.copy() for w in self.model.get_weights()]

    def fit(self, windows: np.ndarray, epochs: int, batch_size: int = 32, validation: float = 0.1) -> None:
        """Fresh weights and optimizer state, then fit; the last ``validation`` share validates (as SKAB)."""
        self.model.set_weights(self._initial)
        for variable in self.model.optimizer.variables:
            if "learning_rate" not in variable.path:
                variable.assign(np.zeros(variable.shape, variable.dtype))
        n_val = max(1, int(len(windows) * validation))
        self.model.fit(windows[:-n_val], windows[:-n_val], validation_data=(windows[-n_val:], windows[-n_val:]),
                       epochs=epochs, batch_size=batch_size, shuffle=True, verbose=0)

    def reconstruct(self, windows: np.ndarray) -> np.ndarray:
        return np.asarray(self.model.predict(windows, batch_size=512, verbose=0))


def protocol_file(f: SkabFile, trainer: FileTrainer, args, path: Path, timing: dict) -> dict[str, np.ndarray]:
    """Train on the file's first 400 rows, then predict every test row four ways (+ SKAB's rule)."""
    window = args.window
    train, test = f.values[:TRAIN_ROWS], f.values[TRAIN_ROWS:]
    scaler = StandardScaler.fit(train)
    specs = {choice: score_spec_for(choice, train) for choice in SCORE_CHOICES}
    train_raw, test_raw = make_windows(train, window, 1), make_windows(test, window, 1)
    train_scaled, test_scaled = scaler.transform(train_raw), scaler.transform(test_raw)

    began = time.perf_counter()
    trainer.fit(train_scaled, args.epochs)
    rec_train, rec_test = trainer.reconstruct(train_scaled), trainer.reconstruct(test_scaled)
    timing["train_s"] += time.perf_counter() - began
    preds = {}
    for choice, spec in specs.items():
        threshold = calibrate(spec.scores(train_scaled, rec_train))
        preds[f"keras {choice}"] = decide_rows(spec.scores(test_scaled, rec_test), threshold, window, len(test))
    residual = lambda s, r: np.abs(r - s).mean(axis=1).sum(axis=1)  # noqa: E731  SKAB's notebooks
    ucl = 1.5 * np.percentile(residual(train_scaled, rec_train), 99)
    preds["keras skab-rule"] = skab_lookahead_rows(residual(test_scaled, rec_test) > ucl, window, len(test))

    began = time.perf_counter()
    path.write_bytes(to_tflite(rebuild_batch1(trainer.model, trainer.spec), Precision.INT8,
                               RepresentativeDataset(train_scaled, DEFAULTS.representative_count)))
    timing["convert_s"] += time.perf_counter() - began
    began = time.perf_counter()
    backend = SharedBackend(open_backend("tflite", path))
    try:
        scorers = {f"int8 {choice}": WindowScorer(scaler, backend, spec) for choice, spec in specs.items()}
        thresholds = {key: calibrate(np.array([s(w) for w in train_raw])) for key, s in scorers.items()}
        preds.update(stream_rows(test, scorers, thresholds, window))
    finally:
        backend.close()
    timing["stream_s"] += time.perf_counter() - began
    return preds


def run_protocol(files: list[SkabFile], args, seed: int, workdir: Path) -> dict:
    trainer = FileTrainer(args.window, files[0].values.shape[1], args.units, args.learning_rate, seed)
    tallies: dict[str, Tally] = {}
    timing = {"train_s": 0.0, "convert_s": 0.0, "stream_s": 0.0}
    for i, f in enumerate(files):
        preds = protocol_file(f, trainer, args, workdir / f"seed{seed}_{i}.tflite", timing)
        truth = f.anomaly[TRAIN_ROWS:]
        for key, pred in preds.items():
            tallies.setdefault(key, Tally()).add(truth, pred)
        print(f"  seed {seed} [{i + 1:2d}/{len(files)}] {f.name:<13} " + "  ".join(
            f"{key} {binary_counts(truth, pred).f1:.2f}" for key, pred in preds.items() if "skab" not in key),
            flush=True)
    return {"tallies": tallies, "timing": timing}


# -- strict mode --------------------------------------------------------------------------------


def strict_bundle(normal: Path, args, seed: int, workdir: Path, timing: dict):
    """``edgewatch train autoencoder --score channel-max`` and ``edgewatch convert`` on anomaly-free.csv."""
    from convert.pipeline import convert_model
    from convert.train import TrainConfig, train_autoencoder
    from edge.bundle import load_bundle

    began = time.perf_counter()
    config = TrainConfig(window=args.window, hop=HOP, units=args.units, epochs=args.strict_epochs,
                         learning_rate=args.learning_rate, sample_rate=SAMPLE_RATE, seed=seed, score="channel-max")
    trained = train_autoencoder(normal, workdir / "anomaly-free.keras", config)
    timing["train_s"] = time.perf_counter() - began
    began = time.perf_counter()
    convert_model(trained.model_path, normal, workdir / "bundle", DEFAULTS, step=lambda msg: None)
    timing["convert_s"] = time.perf_counter() - began
    return trained, load_bundle(workdir / "bundle")


def run_strict(files: list[SkabFile], root: Path, args, seed: int, workdir: Path) -> dict:
    """Train on anomaly-free.csv with the toolkit, convert to a bundle, stream every experiment in full."""
    from edge.model import load_model

    normal = root / "data" / "anomaly-free" / "anomaly-free.csv"
    timing: dict = {}
    trained, bundle = strict_bundle(normal, args, seed, workdir, timing)
    columns = list(bundle.input.columns)
    normal_rows = read_skab_csv(normal)
    tail = normal_rows.values[trained.sidecar["data"]["holdout_rows"][0] :, [normal_rows.columns.index(c) for c in columns]]
    tail_raw = make_windows(tail, args.window, 1)
    specs = {"mse": ScoreSpec(), "channel-max": bundle.score}  # the bundle's own, and what --score mse would give
    model = _deps.keras().saving.load_model(trained.model_path, compile=False)
    tail_scaled = bundle.scaler.transform(tail_raw)
    rec_tail = np.asarray(model.predict(tail_scaled, batch_size=512, verbose=0))
    thresholds = {f"keras {c}": calibrate(spec.scores(tail_scaled, rec_tail)) for c, spec in specs.items()}

    loaded = load_model(bundle, "int8")  # the bundle's INT8 variant, the scorer its manifest asks for
    shared = SharedBackend(loaded.backend)
    scorers = {"int8 mse": WindowScorer(bundle.scaler, shared, specs["mse"]),
               "int8 channel-max": WindowScorer(bundle.scaler, shared, loaded.scorer.spec)}
    thresholds["int8 mse"] = calibrate(np.array([scorers["int8 mse"](w) for w in tail_raw]))
    thresholds["int8 channel-max"] = bundle.decision(loaded.variant).threshold  # calibrated by convert
    began = time.perf_counter()
    try:
        result = strict_stream(files, columns, bundle.scaler, model, specs, scorers, thresholds, args.window)
    finally:
        loaded.close()
    timing["stream_s"] = time.perf_counter() - began
    return {**result, "timing": timing, "thresholds": thresholds, "score": bundle.score.to_dict(),
            "columns": columns, "epochs_run": trained.epochs_run}


def strict_stream(files, columns, scaler, model, specs, scorers, thresholds, window) -> dict:
    """Every experiment in full: Keras batched and INT8 streamed; tallies over all rows, test rows, groups."""
    tallies: dict[str, Tally] = {}
    tallies_test: dict[str, Tally] = {}
    groups: dict[str, dict[str, Tally]] = {}
    for f in files:
        values = f.values[:, [f.columns.index(c) for c in columns]]
        scaled = scaler.transform(make_windows(values, window, 1))
        rec = np.asarray(model.predict(scaled, batch_size=512, verbose=0))
        preds = {f"keras {c}": decide_rows(spec.scores(scaled, rec), thresholds[f"keras {c}"], window, len(values))
                 for c, spec in specs.items()}
        preds.update(stream_rows(values, scorers, thresholds, window))
        for key, pred in preds.items():
            tallies.setdefault(key, Tally()).add(f.anomaly, pred)
            tallies_test.setdefault(key, Tally()).add(f.anomaly[TRAIN_ROWS:], pred[TRAIN_ROWS:])
            groups.setdefault(f.group, {}).setdefault(key, Tally()).add(f.anomaly, pred)
    return {"tallies": tallies, "tallies_test": tallies_test, "groups": groups}


# -- main ------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skab", type=Path, default=None, help="SKAB directory (default ../shared/datasets/skab)")
    parser.add_argument("--quick", action="store_true", help="every 3rd file, first seed only, 10 epochs, strict 3")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="training seeds (default 0 1 2)")
    parser.add_argument("--window", type=int, default=10, help="window length in rows (SKAB's LSTM-AE: 10)")
    parser.add_argument("--units", type=int, default=100, help="LSTM units (SKAB's LSTM-AE: 100)")
    parser.add_argument("--epochs", type=int, default=30, help="epochs per file model (default 30)")
    parser.add_argument("--strict-epochs", type=int, default=15, help="epochs of the anomaly-free model (default 15)")
    parser.add_argument("--learning-rate", type=float, default=5e-3)
    parser.add_argument("--skip-strict", action="store_true", help="protocol mode only")
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds = args.seeds[:1]
        args.epochs, args.strict_epochs = min(args.epochs, 10), min(args.strict_epochs, 3)
    return args


def protocol_report(files: list[SkabFile], args, workdir: Path) -> dict:
    per_seed = {}
    for seed in args.seeds:
        print(f"\nProtocol mode, seed {seed}: one model per file on its first 400 rows", flush=True)
        result = run_protocol(files, args, seed, workdir)
        print_table(f"Protocol mode, seed {seed}, pooled over {result['tallies']['keras mse'].counts.rows} test rows "
                    f"of {len(files)} files (SKAB's F1/FAR/MAR)", result["tallies"], leaderboard=True)
        print("  timing: " + ", ".join(f"{k} {v:.0f}" for k, v in result["timing"].items()))
        per_seed[seed] = result
    summary = summarize({s: r["tallies"] for s, r in per_seed.items()}, list(SCORE_CHOICES))
    print_summary(summary, args.seeds)
    return {"seeds": {str(s): {"figures": {k: t.to_dict() for k, t in r["tallies"].items()}, "timing_s": r["timing"]}
                      for s, r in per_seed.items()}, "summary": summary}


def strict_report(files: list[SkabFile], root: Path, args, workdir: Path) -> dict:
    seed = args.seeds[0]
    print(f"\nStrict mode, seed {seed}: one model trained on anomaly-free.csv (tail held out for the threshold), "
          "all experiments streamed in full", flush=True)
    strict = run_strict(files, root, args, seed, workdir)
    print_table(f"Strict mode, pooled over all {strict['tallies']['keras mse'].counts.rows} rows",
                strict["tallies"], leaderboard=False)
    print_table(f"Strict mode, the same predictions on the {strict['tallies_test']['keras mse'].counts.rows}"
                " protocol test rows", strict["tallies_test"], leaderboard=True)
    print("  per testbed group (all rows), INT8 mse | channel-max:")
    for group, by_key in strict["groups"].items():
        print(f"    {group:<7} " + " | ".join(f"F1 {by_key[k].counts.f1:.2f} FAR {by_key[k].counts.far:5.1f} %"
                                           for k in ("int8 mse", "int8 channel-max")))
    print("  timing: " + ", ".join(f"{k} {v:.0f}" for k, v in strict["timing"].items())
          + f"; epochs run {strict['epochs_run']}")
    return {"seed": seed, "figures": {k: v.to_dict() for k, v in strict["tallies"].items()},
            "test_rows": {k: v.to_dict() for k, v in strict["tallies_test"].items()},
            "groups": {g: {k: v.to_dict() for k, v in by.items()} for g, by in strict["groups"].items()},
            **{k: strict[k] for k in ("thresholds", "score", "columns", "timing", "epochs_run")}}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        root = require_skab_dir(args.skab)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    files = skab_files(root)
    if args.quick:
        files = files[::3]
    began = time.perf_counter()
    print(f"SKAB at {root}: {len(files)} experiments{' (--quick: every 3rd)' if args.quick else ''}; "
          f"seeds {' '.join(map(str, args.seeds))}; window {args.window}, LSTM units {args.units}, {args.epochs} "
          f"epochs per file, hop {HOP}; toolkit defaults: debounce {DEFAULTS.k}-of-{DEFAULTS.n}, threshold "
          f"percentile {DEFAULTS.threshold.percentile}, {DEFAULTS.threshold.false_alarms_per_hour}/h, "
          f"margin {DEFAULTS.threshold.margin}")
    report: dict = {"args": {k: str(v) for k, v in vars(args).items()}, "files": [f.name for f in files]}
    with tempfile.TemporaryDirectory(prefix="edgewatch-skab-") as tmp:
        report["protocol"] = protocol_report(files, args, Path(tmp))
        if not args.skip_strict:
            report["strict"] = strict_report(files, root, args, Path(tmp))
    report["total_s"] = time.perf_counter() - began
    print(f"\ntotal {report['total_s']:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
