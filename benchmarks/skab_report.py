"""Tallies and tables of the SKAB benchmark (``skab.py``): per seed, and summarised over seeds."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from skab_metrics import LEADERBOARD, BinaryCounts, EventScores, binary_counts, event_scores

__all__ = ["Tally", "print_table", "summarize", "print_summary", "TARGET"]

# issue 6: INT8 F1 >= 0.80 with FAR <= 15 %, and at most 0.01 F1 between Keras and INT8
TARGET = {"f1": 0.80, "far": 15.0, "gap": 0.01}
SHOWN_LEADERBOARD = ("Conv-AE", "MSET", "T-squared+Q (PCA)", "LSTM-AE")


@dataclass
class Tally:
    """Row counts and event figures of one detector, pooled over files."""

    counts: BinaryCounts = field(default_factory=BinaryCounts)
    events: EventScores = field(default_factory=EventScores)
    fp_after_segment: int = 0  # false-alarm rows after a file's last anomalous row (tails and after-effects)

    def add(self, truth: np.ndarray, pred: np.ndarray) -> None:
        self.counts = self.counts + binary_counts(truth, pred)
        self.events = self.events + event_scores(truth, pred)
        anomalous = np.flatnonzero(np.asarray(truth) == 1)
        if len(anomalous):
            after = slice(anomalous[-1] + 1, None)
            self.fp_after_segment += int(np.sum((np.asarray(pred)[after] == 1) & (np.asarray(truth)[after] == 0)))

    def to_dict(self) -> dict:
        c, e = self.counts, self.events
        d = np.asarray(e.delays, float)
        return {"f1": c.f1, "far": c.far, "mar": c.mar, "tp": c.tp, "tn": c.tn, "fp": c.fp, "fn": c.fn,
                "event_recall": e.recall, "event_precision": e.precision, "segments": e.segments,
                "detected": e.detected, "alarms": e.alarms, "true_alarms": e.true_alarms,
                "delay_median_s": float(np.median(d)) if len(d) else None,
                "delay_p90_s": float(np.percentile(d, 90)) if len(d) else None,
                "fp_after_segment": self.fp_after_segment}


def print_table(title: str, rows: dict[str, Tally], leaderboard: bool) -> None:
    print(f"\n{title}")
    print(f"  {'detector':<42} {'F1':>5} {'FAR %':>6} {'MAR %':>6}   events: found  true alarms  delay med/p90 s"
          "  FP rows (after the segment)")
    if leaderboard:
        for name in SHOWN_LEADERBOARD:
            f1, far, mar = LEADERBOARD[name]
            print(f"  {'leaderboard ' + name:<42} {f1:5.2f} {far:6.2f} {mar:6.2f}")
    for name, t in rows.items():
        d = t.to_dict()
        delay = f"{d['delay_median_s']:.0f}/{d['delay_p90_s']:.0f}" if d["delay_median_s"] is not None else "-"
        print(f"  {name:<42} {d['f1']:5.3f} {d['far']:6.2f} {d['mar']:6.2f}   "
              f"{t.events.detected:>2}/{t.events.segments:<2} {d['event_recall']:4.2f}  "
              f"{t.events.true_alarms:>3}/{t.events.alarms:<3} {d['event_precision']:4.2f}  {delay:>9}"
              f"  {t.counts.fp:>5} ({t.fp_after_segment})")


def summarize(per_seed: dict[int, dict[str, Tally]], choices: list[str]) -> dict:
    """Per detector: F1/FAR/MAR and event figures per seed with mean/min/max; per score: the Keras-INT8 gap."""
    seeds = list(per_seed)
    keys = list(per_seed[seeds[0]])
    detectors = {}
    for key in keys:
        figures = [per_seed[s][key].to_dict() for s in seeds]
        entry = {}
        for metric in ("f1", "far", "mar", "event_recall", "event_precision", "delay_median_s"):
            values = [f[metric] for f in figures if f[metric] is not None]
            entry[metric] = {"per_seed": values, "mean": float(np.mean(values)) if values else None,
                             "min": float(np.min(values)) if values else None,
                             "max": float(np.max(values)) if values else None}
        detectors[key] = entry
    gaps = {c: [abs(per_seed[s][f"keras {c}"].counts.f1 - per_seed[s][f"int8 {c}"].counts.f1) for s in seeds]
            for c in choices}
    targets = {}
    for c in choices:
        int8 = detectors[f"int8 {c}"]
        met = [f1 >= TARGET["f1"] and far <= TARGET["far"] and gap <= TARGET["gap"]
               for f1, far, gap in zip(int8["f1"]["per_seed"], int8["far"]["per_seed"], gaps[c])]
        targets[c] = {"per_seed": met, "every_seed": all(met)}
    return {"seeds": seeds, "detectors": detectors, "f1_gap_keras_int8": gaps, "target_met": targets}


def print_summary(summary: dict, seeds: list[int]) -> None:
    seed_cols = " ".join(f"{'s' + str(s):>6}" for s in seeds)
    blank = " " * (7 * len(seeds))
    print(f"\nProtocol mode over seeds {' '.join(map(str, seeds))} (pooled test rows per seed)")
    print(f"  {'detector':<42} F1:{seed_cols}   mean    min | FAR %:{seed_cols}   mean    max |  MAR mean"
          " | events found, true alarms, delay median (means)")
    for name in SHOWN_LEADERBOARD:
        f1, far, mar = LEADERBOARD[name]
        print(f"  {'leaderboard ' + name:<42}    {blank}{f1:6.2f}        |       {blank}{far:6.2f}        |"
              f"    {mar:6.2f}")
    for key, d in summary["detectors"].items():
        f1s = " ".join(f"{v:6.3f}" for v in d["f1"]["per_seed"])
        fars = " ".join(f"{v:6.2f}" for v in d["far"]["per_seed"])
        delay = d["delay_median_s"]["mean"]
        print(f"  {key:<42}    {f1s} {d['f1']['mean']:6.3f} {d['f1']['min']:6.3f} |       {fars} "
              f"{d['far']['mean']:6.2f} {d['far']['max']:6.2f} |    {d['mar']['mean']:6.2f}"
              f" | {d['event_recall']['mean']:.2f}, {d['event_precision']['mean']:.2f}, "
              f"{'-' if delay is None else f'{delay:.0f} s'}")
    for choice, gaps in summary["f1_gap_keras_int8"].items():
        met = summary["target_met"][choice]
        print(f"  |F1 Keras - F1 INT8| {choice:<12} " + " ".join(f"{g:.3f}" for g in gaps)
              + f"   target (INT8 F1 >= {TARGET['f1']}, FAR <= {TARGET['far']} %, gap <= {TARGET['gap']}): "
              + " ".join("met" if m else "NOT met" for m in met["per_seed"])
              + f" -> {'met by every seed' if met['every_seed'] else 'NOT met by every seed'}")
