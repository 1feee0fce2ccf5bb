"""SKAB benchmark: the LSTM autoencoder, Keras FP32 and INT8 on the device path, next to SKAB's leaderboard.

SKAB (Skoltech Anomaly Benchmark, GPL-3.0) is read from where it lives: ``../shared/datasets/skab``
beside the checkout, or ``--skab DIR``; nothing of it is copied here.

Protocol mode (SKAB's own, ``core/utils.py`` + its LSTM-AE notebook): per file, the first 400 rows
train (the scaler is fitted on them), the rest test; one model per file (34 models); the threshold is
chosen on the training windows' scores only. Every test row gets a prediction: the decision made
when a window completes belongs to the window's last row (causal, what the device shows at that
moment); rows before the first full test window are normal. Scores are pooled over all 23,801 test
rows with SKAB's formulas (``skab_metrics``).

    (a) Keras FP32: the trained Keras model, batched, the same score and decision code.
    (b) INT8: each model converted with ``convert.export`` (representative dataset = its training
        windows) and streamed through ``edge.window.SlidingWindow`` -> the backend from
        ``edge.backends.open_backend`` -> the window scorer -> ``edge.decide.Decider``, the code
        ``edge-infer`` runs, in chunks of 64 rows.

Two scorings are run on every model:
    today:   ``edge.score.WindowScorer`` (MSE of the scaled window), threshold from
             ``calibration.threshold.choose_threshold`` with the default policy, 3-of-5 debounce.
    recipe:  per-channel scoring: the largest, over channels, of the channel's mean squared error in
             the window, each channel's error divided by its drift ratio R (the long-run over the
             short-run standard deviation of the training rows, from 25-row batch means; only
             channels with R > 3, i.e. slow-drifting sensors, are divided). Same threshold policy,
             same debounce. ``ChannelMaxScorer`` below is a subclass of ``WindowScorer`` standing
             in for the proposed library change (``edge.score`` with a score spec from the manifest);
             once that exists, this benchmark should build its scorers from it instead.

Strict mode: one model trained with ``convert.train`` on ``anomaly-free.csv`` (its last 20 % held
out), converted by ``convert.pipeline`` into a real bundle whose thresholds come from that held-out
tail, then all 34 experiments streamed in full through the bundle's INT8 variant.

Event level (both modes): segment recall, alarm precision, median/p90 detection delay (seconds).

    .venv/bin/python benchmarks/skab.py            # full: ~12 min on 2 cores
    .venv/bin/python benchmarks/skab.py --quick    # 12 files, fewer epochs: ~4 min
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
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
sys.path.insert(0, str(Path(__file__).resolve().parent))

from skab_metrics import (  # noqa: E402
    LEADERBOARD, TRAIN_ROWS, BinaryCounts, EventScores, SkabFile, binary_counts, event_scores,
    read_skab_csv, require_skab_dir, skab_files,
)
from calibration.dataset import RepresentativeDataset, make_windows  # noqa: E402
from calibration.threshold import ThresholdPolicy, choose_threshold  # noqa: E402
from convert import _deps  # noqa: E402
from convert.autoencoder import AutoencoderSpec, build_autoencoder  # noqa: E402
from convert.export import Precision, rebuild_batch1, to_tflite  # noqa: E402
from edge.backends import open_backend  # noqa: E402
from edge.decide import Decider, DecisionConfig  # noqa: E402
from edge.scaler import StandardScaler  # noqa: E402
from edge.score import WindowScorer  # noqa: E402
from edge.window import SlidingWindow  # noqa: E402

SAMPLE_RATE = 1.0  # SKAB samples at 1 Hz
HOP = 1  # SKAB decides every row
K, N = 3, 5  # the toolkit's default debounce
DRIFT_BLOCK, DRIFT_CUT = 25, 3.0
CHUNK_ROWS = 64  # as edge.sources.file.CsvFileSource


# -- scoring -------------------------------------------------------------------------------


def drift_ratios(rows: np.ndarray, block: int = DRIFT_BLOCK) -> np.ndarray:
    """Per channel: long-run / short-run standard deviation of ``rows`` (batch means of ``block`` rows).

    About 1 for a channel whose samples are independent; well above 1 for one that wanders slowly
    (temperatures), whose short-record standard deviation underestimates how far normal data goes.
    """
    data = np.asarray(rows, dtype=np.float64)
    usable = len(data) // block * block
    means = data[:usable].reshape(-1, block, data.shape[1]).mean(axis=1)
    short = data.std(axis=0)
    short[short < 1e-12] = 1.0
    return np.maximum(1.0, means.std(axis=0) * np.sqrt(block) / short)


def drift_weights(rows: np.ndarray, block: int = DRIFT_BLOCK, cut: float = DRIFT_CUT) -> np.ndarray:
    """Error multipliers per channel: ``1 / R`` for slow-drifting channels (``R > cut``), else 1."""
    ratios = drift_ratios(rows, block)
    return np.where(ratios > cut, 1.0 / ratios, 1.0).astype(np.float32)


def mse_scores(scaled: np.ndarray, reconstruction: np.ndarray) -> np.ndarray:
    """``edge.score.reconstruction_error`` over a batch of windows."""
    diff = reconstruction.reshape(scaled.shape) - scaled
    return np.mean(diff * diff, axis=(-2, -1))


def channel_max_scores(scaled: np.ndarray, reconstruction: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Largest per-channel mean squared error, each channel's error times its weight (batch or one window)."""
    diff = (reconstruction.reshape(scaled.shape) - scaled) * weights
    return np.max(np.mean(diff * diff, axis=-2), axis=-1)


class ChannelMaxScorer(WindowScorer):
    """The recipe's window score on the device path: scaler -> backend -> per-channel max error."""

    def __init__(self, scaler: StandardScaler, backend, weights: np.ndarray) -> None:
        super().__init__(scaler, backend)
        self.weights = np.asarray(weights, dtype=np.float32)

    def __call__(self, values: np.ndarray) -> float:
        scaled = self.scaler.transform(values)
        return float(channel_max_scores(scaled, np.asarray(self.backend.run(scaled[None]), np.float32), self.weights))


class SharedBackend:
    """Runs the wrapped backend once per distinct window, so two scorers can share one inference."""

    def __init__(self, backend) -> None:
        self.backend, self._last_in, self._last_out = backend, None, None

    def run(self, window: np.ndarray) -> np.ndarray:
        if self._last_in is None or not np.array_equal(window, self._last_in):
            self._last_in, self._last_out = np.array(window, copy=True), self.backend.run(window)
        return self._last_out

    def close(self) -> None:
        self.backend.close()


def calibrate(scores: np.ndarray) -> float:
    """The toolkit's threshold (default policy) from normal-window scores 1 row apart."""
    windows_per_hour = 3600.0 * SAMPLE_RATE / HOP
    return choose_threshold(scores, ThresholdPolicy(), windows_per_hour, DecisionConfig(1.0, K, N), hop=HOP).value


def decide_rows(scores: np.ndarray, threshold: float, window: int, rows: int) -> np.ndarray:
    """Feed window scores (window ``j`` covers rows ``j .. j+window-1``) to the Decider; 0/1 per row."""
    decider = Decider(DecisionConfig(float(threshold), K, N))
    pred = np.zeros(rows, np.int8)
    for j, score in enumerate(scores):
        decider.update(float(score))
        pred[j + window - 1] = decider.active
    return pred


def stream_rows(values: np.ndarray, scorers: list, thresholds: list[float], window: int) -> list[np.ndarray]:
    """Stream raw rows in chunks through SlidingWindow -> each scorer -> its Decider; 0/1 per row each."""
    windows = SlidingWindow(window, HOP, values.shape[1])
    deciders = [Decider(DecisionConfig(float(t), K, N)) for t in thresholds]
    preds = [np.zeros(len(values), np.int8) for _ in scorers]
    for start in range(0, len(values), CHUNK_ROWS):
        for w in windows.push(values[start : start + CHUNK_ROWS]):
            for scorer, decider, pred in zip(scorers, deciders, preds):
                decider.update(scorer(w.values))
                pred[w.end - 1 : w.end - 1 + HOP] = decider.active
    return preds


def skab_lookahead_rows(hits: np.ndarray, window: int, rows: int) -> np.ndarray:
    """SKAB's notebooks: row ``i`` is flagged when windows ``i-window+1 .. i-1`` all exceed UCL
    (a look-ahead of window-2 rows; the last 2*window-1 rows are never flagged)."""
    pred = np.zeros(rows, np.int8)
    for i in range(window - 1, len(hits) - window + 1):
        if np.all(hits[i - window + 1 : i]):
            pred[i] = 1
    return pred


# -- results ---------------------------------------------------------------------------------


@dataclass
class Tally:
    counts: BinaryCounts = field(default_factory=BinaryCounts)
    events: EventScores = field(default_factory=EventScores)

    def add(self, truth: np.ndarray, pred: np.ndarray) -> None:
        self.counts = self.counts + binary_counts(truth, pred)
        self.events = self.events + event_scores(truth, pred)

    def to_dict(self) -> dict:
        c, e = self.counts, self.events
        d = np.asarray(e.delays, float)
        return {"f1": c.f1, "far": c.far, "mar": c.mar, "tp": c.tp, "tn": c.tn, "fp": c.fp, "fn": c.fn,
                "event_recall": e.recall, "event_precision": e.precision, "segments": e.segments,
                "alarms": e.alarms, "delay_median_s": float(np.median(d)) if len(d) else None,
                "delay_p90_s": float(np.percentile(d, 90)) if len(d) else None}


def print_table(title: str, rows: dict[str, Tally], leaderboard: bool) -> None:
    print(f"\n{title}")
    print(f"  {'detector':<52} {'F1':>5} {'FAR %':>6} {'MAR %':>6}   events: recall precision  delay med/p90 s")
    if leaderboard:
        for name in ("Conv-AE", "MSET", "T-squared+Q (PCA)", "LSTM-AE"):
            f1, far, mar = LEADERBOARD[name]
            print(f"  {'leaderboard ' + name:<52} {f1:5.2f} {far:6.2f} {mar:6.2f}")
    for name, t in rows.items():
        d = t.to_dict()
        delay = f"{d['delay_median_s']:.0f}/{d['delay_p90_s']:.0f}" if d["delay_median_s"] is not None else "-"
        print(f"  {name:<52} {d['f1']:5.3f} {d['far']:6.2f} {d['mar']:6.2f}   "
              f"{t.events.detected:>2}/{t.events.segments:<2} {d['event_recall']:4.2f}  "
              f"{t.events.true_alarms:>3}/{t.events.alarms:<3} {d['event_precision']:4.2f}  {delay:>9}")


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


def run_protocol(files: list[SkabFile], args, workdir: Path) -> dict:
    window = args.window
    trainer = FileTrainer(window, files[0].values.shape[1], args.units, args.learning_rate, args.seed)
    names = {"keras_today": "Keras FP32, today (MSE, toolkit threshold, 3-of-5)",
             "int8_today": "INT8 on the edge path, today",
             "keras_recipe": "Keras FP32, recipe (channel max, drift weights)",
             "int8_recipe": "INT8 on the edge path, recipe",
             "keras_skab": "Keras FP32, SKAB's residual + UCL + look-ahead rule"}
    tallies = {k: Tally() for k in names}
    timing = {"train_s": 0.0, "convert_s": 0.0, "stream_s": 0.0}
    for i, f in enumerate(files):
        train, test = f.values[:TRAIN_ROWS], f.values[TRAIN_ROWS:]
        truth = f.anomaly[TRAIN_ROWS:]
        scaler = StandardScaler.fit(train)
        weights = drift_weights(train)
        train_raw, test_raw = make_windows(train, window, 1), make_windows(test, window, 1)
        train_scaled, test_scaled = scaler.transform(train_raw), scaler.transform(test_raw)

        began = time.perf_counter()
        trainer.fit(train_scaled, args.epochs)
        rec_train, rec_test = trainer.reconstruct(train_scaled), trainer.reconstruct(test_scaled)
        timing["train_s"] += time.perf_counter() - began

        preds = {}
        for kind, score in (("today", lambda s, r: mse_scores(s, r)),
                            ("recipe", lambda s, r: channel_max_scores(s, r, weights))):
            threshold = calibrate(score(train_scaled, rec_train))
            preds[f"keras_{kind}"] = decide_rows(score(test_scaled, rec_test), threshold, window, len(test))
        residual = lambda s, r: np.abs(r - s).mean(axis=1).sum(axis=1)  # noqa: E731  SKAB's notebooks
        ucl = 1.5 * np.percentile(residual(train_scaled, rec_train), 99)
        preds["keras_skab"] = skab_lookahead_rows(residual(test_scaled, rec_test) > ucl, window, len(test))

        began = time.perf_counter()
        path = workdir / f"model_{i}.tflite"
        batch1 = rebuild_batch1(trainer.model, trainer.spec)
        path.write_bytes(to_tflite(batch1, Precision.INT8, RepresentativeDataset(train_scaled, 300)))
        timing["convert_s"] += time.perf_counter() - began

        began = time.perf_counter()
        backend = SharedBackend(open_backend("tflite", path))
        try:
            scorers = [WindowScorer(scaler, backend), ChannelMaxScorer(scaler, backend, weights)]
            thresholds = [calibrate(np.array([s(w) for w in train_raw])) for s in scorers]
            preds["int8_today"], preds["int8_recipe"] = stream_rows(test, scorers, thresholds, window)
        finally:
            backend.close()
        timing["stream_s"] += time.perf_counter() - began

        for key, pred in preds.items():
            tallies[key].add(truth, pred)
        print(f"  [{i + 1:2d}/{len(files)}] {f.name:<13} " + "  ".join(
            f"{key} F1 {binary_counts(truth, pred).f1:.2f}" for key, pred in preds.items() if "skab" not in key),
            flush=True)
    return {"names": names, "tallies": tallies, "timing": timing}


# -- strict mode --------------------------------------------------------------------------------


def run_strict(files: list[SkabFile], root: Path, args, workdir: Path) -> dict:
    """Train on anomaly-free.csv with the toolkit, convert to a bundle, stream every experiment in full."""
    from convert.pipeline import ConvertConfig, convert_model
    from convert.train import TrainConfig, train_autoencoder
    from edge.bundle import load_bundle
    from edge.model import load_model

    normal = root / "data" / "anomaly-free" / "anomaly-free.csv"
    timing = {}
    began = time.perf_counter()
    config = TrainConfig(window=args.window, hop=HOP, units=args.units, epochs=args.strict_epochs,
                         learning_rate=args.learning_rate, sample_rate=SAMPLE_RATE, seed=args.seed)
    trained = train_autoencoder(normal, workdir / "anomaly-free.keras", config)
    timing["train_s"] = time.perf_counter() - began
    began = time.perf_counter()
    convert_model(trained.model_path, normal, workdir / "bundle", ConvertConfig(), step=lambda msg: None)
    timing["convert_s"] = time.perf_counter() - began

    bundle = load_bundle(workdir / "bundle")
    sidecar = trained.sidecar
    columns = list(bundle.input.columns)
    af = read_skab_csv(normal)
    order = [af.columns.index(c) for c in columns]
    start, end = sidecar["data"]["train_rows"]
    weights = drift_weights(af.values[start:end, order])
    tail = af.values[sidecar["data"]["holdout_rows"][0] :, order]
    tail_raw = make_windows(tail, args.window, 1)
    tail_scaled = bundle.scaler.transform(tail_raw)

    keras = _deps.keras()
    model = keras.saving.load_model(trained.model_path, compile=False)
    rec_tail = np.asarray(model.predict(tail_scaled, batch_size=512, verbose=0))
    keras_thr = {"today": calibrate(mse_scores(tail_scaled, rec_tail)),
                 "recipe": calibrate(channel_max_scores(tail_scaled, rec_tail, weights))}

    loaded = load_model(bundle, "int8")  # the bundle's INT8 variant, its WindowScorer and threshold
    shared = SharedBackend(loaded.backend)
    today = WindowScorer(bundle.scaler, shared)
    recipe = ChannelMaxScorer(bundle.scaler, shared, weights)
    int8_thr = {"today": bundle.decision(loaded.variant).threshold,
                "recipe": calibrate(np.array([recipe(w) for w in tail_raw]))}

    names = {"keras_today": "Keras FP32, today", "int8_today": "INT8 bundle on the edge path, today",
             "keras_recipe": "Keras FP32, recipe", "int8_recipe": "INT8 bundle on the edge path, recipe"}
    tallies = {k: Tally() for k in names}
    tallies_test = {k: Tally() for k in names}
    groups: dict[str, dict[str, Tally]] = {}
    began = time.perf_counter()
    try:
        for f in files:
            values = f.values[:, [f.columns.index(c) for c in columns]]
            raw = make_windows(values, args.window, 1)
            scaled = bundle.scaler.transform(raw)
            rec = np.asarray(model.predict(scaled, batch_size=512, verbose=0))
            preds = {"keras_today": decide_rows(mse_scores(scaled, rec), keras_thr["today"], args.window, len(values)),
                     "keras_recipe": decide_rows(channel_max_scores(scaled, rec, weights), keras_thr["recipe"],
                                                 args.window, len(values))}
            preds["int8_today"], preds["int8_recipe"] = stream_rows(
                values, [today, recipe], [int8_thr["today"], int8_thr["recipe"]], args.window)
            for key, pred in preds.items():
                tallies[key].add(f.anomaly, pred)
                tallies_test[key].add(f.anomaly[TRAIN_ROWS:], pred[TRAIN_ROWS:])
                groups.setdefault(f.group, {}).setdefault(key, Tally()).add(f.anomaly, pred)
    finally:
        loaded.close()
    timing["stream_s"] = time.perf_counter() - began
    return {"names": names, "tallies": tallies, "tallies_test": tallies_test, "groups": groups, "timing": timing,
            "thresholds": {"keras": keras_thr, "int8": int8_thr}, "weights": weights.tolist(), "columns": columns,
            "epochs_run": trained.epochs_run}


# -- main ------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skab", type=Path, default=None, help="SKAB directory (default ../shared/datasets/skab)")
    parser.add_argument("--quick", action="store_true", help="every 3rd file, 10 epochs, strict mode 3 epochs")
    parser.add_argument("--window", type=int, default=10, help="window length in rows (SKAB's LSTM-AE: 10)")
    parser.add_argument("--units", type=int, default=100, help="LSTM units (SKAB's LSTM-AE: 100)")
    parser.add_argument("--epochs", type=int, default=30, help="epochs per file model (default 30)")
    parser.add_argument("--strict-epochs", type=int, default=15, help="epochs of the anomaly-free model (default 15)")
    parser.add_argument("--learning-rate", type=float, default=5e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-strict", action="store_true", help="protocol mode only")
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.strict_epochs = min(args.epochs, 10), min(args.strict_epochs, 3)
    return args


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
          f"window {args.window}, LSTM units {args.units}, {args.epochs} epochs per file, hop {HOP}, "
          f"debounce {K}-of-{N}")
    report: dict = {"args": {k: str(v) for k, v in vars(args).items()}, "files": [f.name for f in files]}
    with tempfile.TemporaryDirectory(prefix="edgewatch-skab-") as tmp:
        print("\nProtocol mode: one model per file on its first 400 rows")
        protocol = run_protocol(files, args, Path(tmp))
        rows = {protocol["names"][k]: t for k, t in protocol["tallies"].items()}
        print_table(f"Protocol mode, pooled over {protocol['tallies']['keras_today'].counts.rows} test rows "
                    f"of {len(files)} files (SKAB's F1/FAR/MAR)", rows, leaderboard=True)
        report["protocol"] = {k: t.to_dict() for k, t in protocol["tallies"].items()}
        report["protocol_timing_s"] = protocol["timing"]
        t = protocol["tallies"]
        for kind in ("today", "recipe"):
            gap = abs(t[f"keras_{kind}"].counts.f1 - t[f"int8_{kind}"].counts.f1)
            report["protocol"][f"f1_gap_{kind}"] = gap
            print(f"  |F1 Keras - F1 INT8| {kind}: {gap:.3f}")
        best = t["int8_recipe"].counts
        met = best.f1 >= 0.80 and best.far <= 15.0 and report["protocol"]["f1_gap_recipe"] <= 0.01
        print(f"  target (INT8 F1 >= 0.80, FAR <= 15 %, gap <= 0.01): {'met' if met else 'NOT met'} "
              f"(INT8 recipe F1 {best.f1:.3f}, FAR {best.far:.2f} %)")
        print("  timing: " + ", ".join(f"{k} {v:.0f}" for k, v in protocol["timing"].items()))

        if not args.skip_strict:
            print("\nStrict mode: one model trained on anomaly-free.csv (tail held out for the threshold), "
                  "all experiments streamed in full")
            strict = run_strict(files, root, args, Path(tmp))
            print_table(f"Strict mode, pooled over all {strict['tallies']['keras_today'].counts.rows} rows",
                        {strict["names"][k]: v for k, v in strict["tallies"].items()}, leaderboard=False)
            print_table(f"Strict mode, the same predictions on the {strict['tallies_test']['keras_today'].counts.rows}"
                        " protocol test rows", {strict["names"][k]: v for k, v in strict["tallies_test"].items()},
                        leaderboard=True)
            print("  per testbed group (all rows), INT8 today | recipe:")
            for group, by_key in strict["groups"].items():
                print(f"    {group:<7} " + " | ".join(f"F1 {by_key[k].counts.f1:.2f} FAR {by_key[k].counts.far:5.1f} %"
                                                   for k in ("int8_today", "int8_recipe")))
            print("  timing: " + ", ".join(f"{k} {v:.0f}" for k, v in strict["timing"].items())
                  + f"; epochs run {strict['epochs_run']}")
            report["strict"] = {k: v.to_dict() for k, v in strict["tallies"].items()}
            report["strict_test_rows"] = {k: v.to_dict() for k, v in strict["tallies_test"].items()}
            report["strict_details"] = {k: strict[k] for k in ("thresholds", "weights", "columns", "timing")}
            report["strict_groups"] = {g: {k: v.to_dict() for k, v in by.items()} for g, by in strict["groups"].items()}
    report["total_s"] = time.perf_counter() - began
    print(f"\ntotal {report['total_s']:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
