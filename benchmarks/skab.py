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

The decision's end ratio (``--end-ratio R [R ...]``, as ``edgewatch convert --end-ratio``) applies
its first value to every score; ``channel-max`` is also decided without it and with each further
value, all from the same models. With ``--members N > 1`` each model is an ensemble (``edgewatch
train --members``) and the Keras rows also score its first member alone (what ``--members 1`` trains
from that initialisation). ``--json`` keeps per-file row counts, so a split of the files can be
scored afterwards.

Strict mode (first seed): one model trained with ``convert.train`` (``--score channel-max``) on
``anomaly-free.csv`` (its last 20 % held out), converted by ``convert.pipeline`` into a real bundle
whose thresholds come from that held-out tail; then all 34 experiments streamed in full through the
bundle's INT8 variant with the scorer ``edge.model.load_model`` builds from the manifest.

Event level (both modes): segment recall, alarm precision, median/p90 detection delay (seconds).

    .venv/bin/python benchmarks/skab.py            # 3 seeds + strict mode: 34 min on 2 shared cores (round 1)
    .venv/bin/python benchmarks/skab.py --skip-strict --end-ratio 10 3 5 20   # protocol mode: 2288 s (round 2)
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
from dataclasses import dataclass, replace  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
sys.path.insert(0, str(Path(__file__).resolve().parent))

from skab_metrics import TRAIN_ROWS, SkabFile, binary_counts, read_skab_csv, require_skab_dir, skab_files  # noqa: E402
from skab_report import Tally, print_summary, print_table, summarize  # noqa: E402
from skab_models import FileTrainer, int8_latency  # noqa: E402
from skab_device import (DEFAULTS, HOP, SAMPLE_RATE, SharedBackend, calibrate, decide_rows, decision,  # noqa: E402
                         skab_lookahead_rows, stream_rows)
from calibration.dataset import RepresentativeDataset, make_windows  # noqa: E402
from calibration.drift import SCORE_CHOICES, score_spec_for  # noqa: E402
from convert import _deps  # noqa: E402
from convert.export import Precision, rebuild_batch1, to_tflite  # noqa: E402
from edge.backends import open_backend  # noqa: E402
from edge.scaler import StandardScaler  # noqa: E402
from edge.score import ScoreSpec, WindowScorer  # noqa: E402

RECIPE = "channel-max"  # the score of the scorecard's headline rows


@dataclass(frozen=True)
class Detector:
    """One row of the tables: which model output, which score, which decision."""

    engine: str  # "keras" (FP32, batched) or "int8" (streamed through the device path)
    choice: str  # a key of calibration.drift.SCORE_CHOICES
    end_ratio: float | None  # the Decider's end ratio (None: off)
    single: bool = False  # Keras only: the ensemble's first member alone (what --members 1 would train)


def detectors_for(args, engines: tuple[str, ...] = ("int8", "keras"), singles: bool = True) -> dict[str, Detector]:
    """The scorecard's detectors: every score with the chosen end ratio, channel-max without it, one member."""
    rows: dict[str, Detector] = {}
    for engine in engines:
        for choice in SCORE_CHOICES:
            rows[f"{engine} {choice}"] = Detector(engine, choice, args.end_ratio)
        if args.end_ratio is not None:
            rows[f"{engine} {RECIPE}, no end ratio"] = Detector(engine, RECIPE, None)
        for ratio in args.other_end_ratios:
            rows[f"{engine} {RECIPE}, end ratio {ratio:g}"] = Detector(engine, RECIPE, ratio)
    if singles and args.members > 1:
        rows[f"keras {RECIPE}, 1 member"] = Detector("keras", RECIPE, args.end_ratio, single=True)
        if args.end_ratio is not None:
            rows[f"keras {RECIPE}, 1 member, no end ratio"] = Detector("keras", RECIPE, None, single=True)
    return rows


# -- protocol mode ------------------------------------------------------------------------------


def keras_predictions(detectors: dict[str, Detector], specs: dict, scaled: tuple, recs: dict, window: int,
                      rows: int) -> dict[str, np.ndarray]:
    """Row predictions of the Keras detectors; ``recs`` maps single (bool) -> (train, test) reconstructions."""
    train_scaled, test_scaled = scaled
    preds = {}
    for key, d in detectors.items():
        if d.engine == "keras":
            rec_train, rec_test = recs[d.single]
            threshold = calibrate(specs[d.choice].scores(train_scaled, rec_train))
            preds[key] = decide_rows(specs[d.choice].scores(test_scaled, rec_test), decision(threshold, d.end_ratio),
                                     window, rows)
    return preds


def protocol_file(f: SkabFile, trainer: FileTrainer, args, path: Path, timing: dict) -> dict[str, np.ndarray]:
    """Train on the file's first 400 rows, then predict every test row with every detector (+ SKAB's rule)."""
    window, detectors = args.window, detectors_for(args)
    train, test = f.values[:TRAIN_ROWS], f.values[TRAIN_ROWS:]
    scaler = StandardScaler.fit(train)
    specs = {choice: score_spec_for(choice, train) for choice in SCORE_CHOICES}
    train_raw, test_raw = make_windows(train, window, 1), make_windows(test, window, 1)
    train_scaled, test_scaled = scaler.transform(train_raw), scaler.transform(test_raw)

    began = time.perf_counter()
    trainer.fit(train_scaled, args.epochs)
    recs = {False: (trainer.reconstruct(train_scaled), trainer.reconstruct(test_scaled))}
    if args.members > 1:
        recs[True] = (trainer.first_member(train_scaled), trainer.first_member(test_scaled))
    timing["train_s"] += time.perf_counter() - began
    preds = keras_predictions(detectors, specs, (train_scaled, test_scaled), recs, window, len(test))
    residual = lambda s, r: np.abs(r - s).mean(axis=1).sum(axis=1)  # noqa: E731  SKAB's notebooks
    rec_train, rec_test = recs[False]
    ucl = 1.5 * np.percentile(residual(train_scaled, rec_train), 99)
    preds["keras skab-rule"] = skab_lookahead_rows(residual(test_scaled, rec_test) > ucl, window, len(test))

    began = time.perf_counter()
    representative = RepresentativeDataset(train_scaled, DEFAULTS.representative_count)
    path.write_bytes(to_tflite(rebuild_batch1(trainer.model, trainer.spec), Precision.INT8, representative))
    timing["convert_s"] += time.perf_counter() - began
    began = time.perf_counter()
    backend = SharedBackend(open_backend("tflite", path))
    try:
        scorers = {choice: WindowScorer(scaler, backend, spec) for choice, spec in specs.items()}
        thresholds = {c: calibrate(np.array([scorer(w) for w in train_raw])) for c, scorer in scorers.items()}
        int8 = {key: (d.choice, decision(thresholds[d.choice], d.end_ratio))
                for key, d in detectors.items() if d.engine == "int8"}
        preds.update(stream_rows(test, scorers, int8, window))
    finally:
        backend.close()
    timing["stream_s"] += time.perf_counter() - began
    return preds


def run_protocol(files: list[SkabFile], args, seed: int, workdir: Path) -> dict:
    trainer = FileTrainer(args.window, files[0].values.shape[1], args.units, args.members, args.learning_rate, seed)
    tallies: dict[str, Tally] = {}
    timing = {"train_s": 0.0, "convert_s": 0.0, "stream_s": 0.0}
    latency, per_file = {}, {}
    for i, f in enumerate(files):
        path = workdir / f"seed{seed}_{i}.tflite"
        preds = protocol_file(f, trainer, args, path, timing)
        if i == 0 and args.members > 1:
            scaled = StandardScaler.fit(f.values[:TRAIN_ROWS]).transform(make_windows(f.values[:TRAIN_ROWS], args.window, 1))
            latency = int8_latency(trainer, scaled, path)
        truth = f.anomaly[TRAIN_ROWS:]
        for key, pred in preds.items():
            tallies.setdefault(key, Tally()).add(truth, pred)
        per_file[f.name] = {key: _counts(truth, pred) for key, pred in preds.items()}
        print(f"  seed {seed} [{i + 1:2d}/{len(files)}] {f.name:<13} " + "  ".join(
            f"{key} {binary_counts(truth, pred).f1:.2f}" for key, pred in preds.items()
            if key in (f"int8 {RECIPE}", f"keras {RECIPE}", f"keras {RECIPE}, 1 member, no end ratio")), flush=True)
    return {"tallies": tallies, "timing": timing, "latency": latency, "per_file": per_file}


def _counts(truth: np.ndarray, pred: np.ndarray) -> dict:
    """Row counts of one file (the JSON keeps them, so a split of the files can be scored afterwards)."""
    c = binary_counts(truth, pred)
    return {"tp": c.tp, "fp": c.fp, "tn": c.tn, "fn": c.fn}


# -- strict mode --------------------------------------------------------------------------------


def strict_bundle(normal: Path, args, seed: int, workdir: Path, timing: dict):
    """``edgewatch train autoencoder --score channel-max --members N`` and ``edgewatch convert --end-ratio R``."""
    from convert.pipeline import convert_model
    from convert.train import TrainConfig, train_autoencoder
    from edge.bundle import load_bundle

    began = time.perf_counter()
    config = TrainConfig(window=args.window, hop=HOP, units=args.units, members=args.members,
                         epochs=args.strict_epochs, learning_rate=args.learning_rate, sample_rate=SAMPLE_RATE,
                         seed=seed, score=RECIPE)
    trained = train_autoencoder(normal, workdir / "anomaly-free.keras", config)
    timing["train_s"] = time.perf_counter() - began
    began = time.perf_counter()
    convert_model(trained.model_path, normal, workdir / "bundle", replace(DEFAULTS, end_ratio=args.end_ratio),
                  step=lambda msg: None)
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
    specs = {"mse": ScoreSpec(), RECIPE: bundle.score}  # the bundle's own, and what --score mse would give
    model = _deps.keras().saving.load_model(trained.model_path, compile=False)
    tail_scaled = bundle.scaler.transform(tail_raw)
    rec_tail = np.asarray(model.predict(tail_scaled, batch_size=512, verbose=0))
    detectors = detectors_for(args, singles=False)
    keras_thresholds = {c: calibrate(spec.scores(tail_scaled, rec_tail)) for c, spec in specs.items()}

    loaded = load_model(bundle, "int8")  # the bundle's INT8 variant, the scorer its manifest asks for
    shared = SharedBackend(loaded.backend)
    scorers = {"mse": WindowScorer(bundle.scaler, shared, specs["mse"]),
               RECIPE: WindowScorer(bundle.scaler, shared, loaded.scorer.spec)}
    device = bundle.decision(loaded.variant)  # threshold calibrated by convert, end ratio from the manifest
    int8_thresholds = {"mse": calibrate(np.array([scorers["mse"](w) for w in tail_raw])), RECIPE: device.threshold}
    configs = {key: decision((int8_thresholds if d.engine == "int8" else keras_thresholds)[d.choice], d.end_ratio)
               for key, d in detectors.items()}
    effective = lambda c: (c.threshold, c.k, c.n, c.cooldown, c.release_windows, c.end_ratio)  # noqa: E731
    assert effective(configs[f"int8 {RECIPE}"]) == effective(device), "decide as the bundle tells the device"
    began = time.perf_counter()
    try:
        result = strict_stream(files, columns, bundle.scaler, model, specs, scorers, detectors, configs, args.window)
    finally:
        loaded.close()
    timing["stream_s"] = time.perf_counter() - began
    return {**result, "timing": timing, "thresholds": {"keras": keras_thresholds, "int8": int8_thresholds},
            "score": bundle.score.to_dict(), "decision": bundle.manifest["decision"], "columns": columns,
            "epochs_run": trained.epochs_run}


def strict_stream(files, columns, scaler, model, specs, scorers, detectors, configs, window) -> dict:
    """Every experiment in full: Keras batched and INT8 streamed; tallies over all rows, test rows, groups."""
    tallies: dict[str, Tally] = {}
    tallies_test: dict[str, Tally] = {}
    groups: dict[str, dict[str, Tally]] = {}
    int8 = {key: (d.choice, configs[key]) for key, d in detectors.items() if d.engine == "int8"}
    for f in files:
        values = f.values[:, [f.columns.index(c) for c in columns]]
        scaled = scaler.transform(make_windows(values, window, 1))
        rec = np.asarray(model.predict(scaled, batch_size=512, verbose=0))
        preds = {key: decide_rows(specs[d.choice].scores(scaled, rec), configs[key], window, len(values))
                 for key, d in detectors.items() if d.engine == "keras"}
        preds.update(stream_rows(values, scorers, int8, window))
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
    parser.add_argument("--members", type=int, default=1,
                        help="autoencoders averaged in each model, as 'edgewatch train --members' (default 1)")
    parser.add_argument("--end-ratio", type=float, nargs="+", default=[5.0],
                        help="the Decider's end ratio, as 'edgewatch convert --end-ratio'; 0 turns it off; further "
                             "values add channel-max rows with those ratios (default 5: chosen on the even files)")
    parser.add_argument("--skip-strict", action="store_true", help="protocol mode only")
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    args = parser.parse_args(argv)
    args.end_ratio, args.other_end_ratios = args.end_ratio[0] or None, [r for r in args.end_ratio[1:] if r]
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
        if result["latency"]:
            print("  INT8 on this host (LiteRT, batch 1, median of 500): " + ", ".join(
                f"{name} {v['latency_ms']:.3f} ms/window, {v['bytes']:,} bytes" for name, v in result["latency"].items()))
        per_seed[seed] = result
    summary = summarize({s: r["tallies"] for s, r in per_seed.items()}, list(SCORE_CHOICES))
    print_summary(summary, args.seeds)
    return {"seeds": {str(s): {"figures": {k: t.to_dict() for k, t in r["tallies"].items()}, "timing_s": r["timing"],
                               "int8_latency": r["latency"], "per_file": r["per_file"]}
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
    print(f"  bundle decision: {strict['decision']}")
    print("  per testbed group (all rows), INT8 mse | channel-max:")
    for group, by_key in strict["groups"].items():
        print(f"    {group:<7} " + " | ".join(f"F1 {by_key[k].counts.f1:.2f} FAR {by_key[k].counts.far:5.1f} %"
                                           for k in ("int8 mse", "int8 channel-max")))
    print("  timing: " + ", ".join(f"{k} {v:.0f}" for k, v in strict["timing"].items())
          + f"; epochs run {strict['epochs_run']}")
    return {"seed": seed, "figures": {k: v.to_dict() for k, v in strict["tallies"].items()},
            "test_rows": {k: v.to_dict() for k, v in strict["tallies_test"].items()},
            "groups": {g: {k: v.to_dict() for k, v in by.items()} for g, by in strict["groups"].items()},
            **{k: strict[k] for k in ("thresholds", "score", "decision", "columns", "timing", "epochs_run")}}


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
          f"seeds {' '.join(map(str, args.seeds))}; window {args.window}, {args.members} x LSTM autoencoder of "
          f"{args.units} units, {args.epochs} epochs per file, hop {HOP}; end ratio {args.end_ratio}; "
          f"toolkit defaults: debounce {DEFAULTS.k}-of-{DEFAULTS.n}, threshold "
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
