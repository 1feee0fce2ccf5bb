"""``edge-infer --source stdin``: numeric lines piped into a real subprocess, through the same
line parser as a serial port, give the same alerts as the CSV replay of the same rows."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import numpy as np

from edge.bundle import load_bundle


def _alerts(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def _key(alert: dict) -> tuple:
    return alert["type"], alert["window_start"], alert["window_end"], round(alert["score"], 5)


def test_piped_lines_give_the_alerts_of_the_csv_replay_and_bad_lines_are_reported(trained_bundle):
    columns = load_bundle(trained_bundle.bundle).input.columns
    with open(trained_bundle.data.stream_csv, newline="") as handle:
        rows = [[r[c] for c in columns] for r in csv.DictReader(handle)]
    lines = [(", " if i % 3 == 0 else "\t" if i % 3 == 1 else " ").join(r) for i, r in enumerate(rows)]
    lines.insert(100, "1,2,oops,4")  # bad: named in the summary, not scored
    base = [sys.executable, "-m", "edgewatch.infer", "--bundle", str(trained_bundle.bundle)]
    piped = subprocess.run([*base, "--source", "stdin"], input="\n".join(lines), capture_output=True, text=True,
                           timeout=120)
    replay = subprocess.run([*base, "--source", f"file:{trained_bundle.data.stream_csv}"], capture_output=True,
                            text=True, timeout=120)
    assert piped.returncode == 0 and replay.returncode == 0, piped.stderr + replay.stderr
    from_stdin, from_file = _alerts(piped.stdout), _alerts(replay.stdout)
    assert from_file and [_key(a) for a in from_stdin] == [_key(a) for a in from_file]
    assert {a["source"] for a in from_stdin} == {"stdin"}
    assert f"rows {len(rows)}," in piped.stderr
    assert "skipped 1 bad row(s); first: line 101: not a number" in piped.stderr
    assert np.isfinite([a["score"] for a in from_stdin]).all()
