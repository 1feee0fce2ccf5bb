"""SKAB's binary metrics: the formulas, and the published leaderboard reproduced from its saved predictions.

The dataset is GPL-3.0 and lives outside the repository at ``../shared/datasets/skab`` (CI has it
there). Its absence is a failure with a message, never a skip.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import skab_metrics as m  # noqa: E402


@pytest.fixture(scope="module")
def skab_dir() -> Path:
    try:
        return m.require_skab_dir()
    except FileNotFoundError as exc:
        pytest.fail(str(exc), pytrace=False)


def test_formulas_on_hand_counts():
    counts = m.binary_counts([1, 1, 1, 0, 0, 0, 0, 1], [1, 1, 0, 1, 0, 0, 0, 0])
    assert counts == m.BinaryCounts(tp=2, tn=3, fp=1, fn=2)
    assert counts.f1 == pytest.approx(2 / (2 + (2 + 1) / 2))
    assert counts.far == pytest.approx(100 * 1 / 4)
    assert counts.mar == pytest.approx(100 * 2 / 4)


def test_pooling_adds_counts_rather_than_averaging_scores():
    a = ([1, 1, 0, 0], [1, 1, 0, 0])  # perfect
    b = ([1, 0, 0, 0, 0, 0], [0, 1, 1, 1, 1, 1])  # all wrong
    total = m.pooled([a, b])
    assert total == m.BinaryCounts(tp=2, tn=2, fp=5, fn=1)
    assert total.f1 == pytest.approx(2 / (2 + 3))
    assert total.f1 != pytest.approx((m.binary_counts(*a).f1 + m.binary_counts(*b).f1) / 2)


def test_empty_cases_do_not_divide_by_zero():
    nothing = m.binary_counts([0, 0], [0, 0])
    assert (nothing.f1, nothing.far, nothing.mar) == (0.0, 0.0, 0.0)


def test_event_scores():
    truth = [0, 0, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0]
    pred = [1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 0]
    e = m.event_scores(truth, pred)
    assert (e.segments, e.detected, e.alarms, e.true_alarms) == (2, 1, 3, 1)
    assert e.delays == (2,)


def test_leaderboard_reproduced_from_saved_predictions(skab_dir):
    checks = {c.name: c for c in m.check_leaderboard(skab_dir)}
    assert checks["LSTM-AE"].reproduced == (0.74, 29.96, 25.92)
    assert checks["Conv-AE"].reproduced == (0.78, 13.55, 28.02)
    assert checks["MSET"].reproduced == (0.78, 39.73, 14.13)
    assert checks["LSTM-AE"].rows == 23801  # 37,401 rows - 34 x 400 train rows
    bad = [f"{c.name}: published {c.published}, got {c.reproduced}" for c in checks.values() if not c.ok]
    assert not bad, bad


def test_reader_and_split_match_the_reference_rows(skab_dir):
    """Our reading of the 34 files and the 400-row split give exactly the rows and labels SKAB scored."""
    files = m.skab_files(skab_dir)
    assert len(files) == 34 and sum(len(f.values) for f in files) == 37401
    assert all(f.values.shape[1] == 8 for f in files)
    _, ref = m.read_reference(skab_dir)
    for f in files:
        picked = [i for i, name in enumerate(ref["file"]) if name == f.name]
        assert len(picked) == len(f.values) - m.TRAIN_ROWS, f.name
        labels = np.array([float(ref["anomaly"][i]) for i in picked])
        np.testing.assert_array_equal(labels, f.anomaly[m.TRAIN_ROWS:], err_msg=f.name)
