"""``--end-ratio`` on the device: a disturbance whose after-effect stays above the threshold is one event that ends.

The stream is the session's pump data with a strong vibration surge (rows 800-860) followed by a
milder vibration excess that lasts to the end of the stream (its after-effect). The ratio is set
between the two from the bundle's own INT8 scores of that stream, so the test checks the rule, not
the tiny model's skill.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from calibration.dataset import make_windows
from conftest import NORMAL_ROWS, run_cli
from edge.bundle import load_bundle
from edge.model import load_model
from edgewatch.synth import COLUMNS, Recording, generate

ROWS, SURGE, AFTER = 2400, 800, 860


@pytest.fixture(scope="module")
def aftermath(trained_bundle, tmp_path_factory):
    base = generate(ROWS, seed=31, offset=NORMAL_ROWS)
    values = base.values.copy()
    vibration = COLUMNS.index("vibration_rms")
    values[SURGE:AFTER, vibration] *= 4.0
    values[AFTER:, vibration] *= 1.6
    path = Recording(values, base.sample_rate, (), base.start_time).write_csv(tmp_path_factory.mktemp("aftermath") / "s.csv")
    bundle = load_bundle(trained_bundle.bundle)
    loaded = load_model(bundle, "int8")
    try:
        window, hop = bundle.input.window, bundle.input.hop
        scores = np.array([loaded.scorer(w) for w in make_windows(values, window, hop)])
        threshold = bundle.decision(loaded.variant).threshold
    finally:
        loaded.close()
    starts = np.arange(len(scores)) * hop
    peak = scores[(starts + window > SURGE) & (starts < AFTER)].max()
    after = scores[starts >= AFTER]
    assert after.min() > threshold, "the after-effect must stay above the threshold for this test to mean anything"
    assert peak > 4 * after.max(), (peak, after.max())
    return path, float(np.sqrt(peak / after.max())), bundle


def _alerts(bundle_dir, csv, *extra) -> list[dict]:
    done = run_cli("edgewatch.infer", "--bundle", str(bundle_dir), "--source", f"file:{csv}", "--quiet", *extra)
    assert done.returncode == 0, done.stderr[-2000:]
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def test_the_event_ends_after_the_disturbance_and_its_aftermath_does_not_re_alarm(trained_bundle, aftermath):
    csv, ratio, _ = aftermath
    alerts = _alerts(trained_bundle.bundle, csv, "--end-ratio", f"{ratio:.6g}")
    kinds = [a["type"] for a in alerts if a["type"] != "update"]
    assert kinds == ["start", "end"], kinds
    start, end = alerts[0], next(a for a in alerts if a["type"] == "end")
    assert start["window_end"] > SURGE and end["window_end"] < ROWS // 2, (start, end)


def test_without_the_ratio_the_aftermath_keeps_the_event_open_to_the_end(trained_bundle, aftermath):
    csv, _, bundle = aftermath
    alerts = _alerts(trained_bundle.bundle, csv)
    kinds = [a["type"] for a in alerts if a["type"] != "update"]
    assert kinds == ["start", "end"], kinds
    end = next(a for a in alerts if a["type"] == "end")
    assert end["window_end"] > ROWS - 2 * bundle.input.window  # closed only when the stream ended


def test_an_end_ratio_not_above_one_is_a_one_line_error(trained_bundle, tmp_path):
    data = trained_bundle.data
    done = run_cli("edgewatch.cli", "convert", "--model", str(trained_bundle.model), "--data", str(data.normal_csv),
                   "--out", str(tmp_path / "bundle"), "--end-ratio", "0.5")
    assert done.returncode == 1 and "end ratio must be > 1" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "bundle").exists()
    done = run_cli("edgewatch.infer", "--bundle", str(trained_bundle.bundle), "--source", f"file:{data.stream_csv}",
                   "--quiet", "--end-ratio", "1")
    assert done.returncode == 1 and "end ratio must be > 1" in done.stderr and "Traceback" not in done.stderr
