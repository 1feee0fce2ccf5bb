"""SlidingWindow: windows depend only on the samples, never on how they were chunked."""

from __future__ import annotations

import numpy as np
import pytest

from calibration.dataset import make_windows
from edge.errors import ConfigError, DataError
from edge.window import SlidingWindow

CHANNELS = 3
ROWS = 1000
# (size, hop): hop == size, hop < size, hop 1, hop > size, degenerate size 1, hop far above size
SHAPES = [(16, 16), (16, 4), (10, 1), (8, 13), (1, 1), (5, 20), (64, 7)]


def _data(rows: int = ROWS, channels: int = CHANNELS, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(rows, channels)).astype(np.float32)
    times = 1_700_000_000.0 + np.arange(rows) * 0.01
    return values, times


def _chunks(rows: int, how: str, seed: int = 1) -> list[tuple[int, int]]:
    """Chunk boundaries ``[(begin, end), ...]`` covering ``rows``."""
    if how == "whole":
        return [(0, rows)]
    if how == "random":
        rng = np.random.default_rng(seed)
        sizes = []
        while sum(sizes) < rows:
            sizes.append(int(rng.integers(0, 50)))  # includes empty chunks
    else:
        sizes = [int(how)] * (rows // int(how) + 1)
    bounds, begin = [], 0
    for size in sizes:
        end = min(begin + size, rows)
        bounds.append((begin, end))
        begin = end
        if begin >= rows:
            break
    return bounds


def _run(size: int, hop: int, values: np.ndarray, times: np.ndarray, how: str):
    sw = SlidingWindow(size, hop, values.shape[1])
    out = []
    for begin, end in _chunks(len(values), how):
        out.extend(sw.push(values[begin:end], times[begin:end]))
    return out


@pytest.mark.parametrize("size,hop", SHAPES)
@pytest.mark.parametrize("how", ["1", "7", "64", "random", "whole"])
def test_windows_do_not_depend_on_chunking(size, hop, how):
    values, times = _data()
    got = _run(size, hop, values, times, how)

    expected_starts = list(range(0, ROWS - size + 1, hop))
    assert [w.start for w in got] == expected_starts
    for window in got:
        s = window.start
        assert window.values.shape == (size, CHANNELS)
        assert window.values.dtype == np.float32
        np.testing.assert_array_equal(window.values, values[s : s + size])
        np.testing.assert_array_equal(window.times, times[s : s + size])
        assert window.end == s + size


@pytest.mark.parametrize("size,hop", SHAPES)
def test_every_chunking_gives_identical_windows(size, hop):
    values, times = _data(seed=3)
    reference = _run(size, hop, values, times, "whole")
    for how in ["1", "7", "64", "random"]:
        other = _run(size, hop, values, times, how)
        assert len(other) == len(reference)
        for a, b in zip(reference, other):
            assert a.start == b.start
            np.testing.assert_array_equal(a.values, b.values)
            np.testing.assert_array_equal(a.times, b.times)


def test_starts_are_multiples_of_hop_and_first_is_zero():
    values, times = _data(rows=200)
    got = _run(10, 3, values, times, "7")
    starts = [w.start for w in got]
    assert starts[0] == 0
    assert all(b - a == 3 for a, b in zip(starts, starts[1:]))
    assert starts[-1] + 10 <= 200 < starts[-1] + 3 + 10  # the last complete window, no more


def test_windows_are_copies_safe_to_keep():
    values, times = _data(rows=100)
    sw = SlidingWindow(8, 4, CHANNELS)
    first = next(iter(sw.push(values[:8], times[:8])))
    kept = first.values.copy()
    list(sw.push(values[8:], times[8:]))
    first.values[:] = 0  # mutating a window must not touch the stream's buffer
    np.testing.assert_array_equal(kept, values[:8])


def test_one_dimensional_chunk_for_one_channel():
    data = np.arange(20, dtype=np.float32)
    sw = SlidingWindow(4, 4, 1)
    got = list(sw.push(data))
    assert [w.start for w in got] == [0, 4, 8, 12, 16]
    np.testing.assert_array_equal(got[1].values[:, 0], [4, 5, 6, 7])
    assert np.isnan(got[0].times).all()  # no times given: NaN


@pytest.mark.parametrize("size,hop,chunk", [(16, 4, 64), (16, 16, 1), (8, 13, 7), (32, 1, 20), (5, 50, 3)])
def test_buffer_stays_bounded_over_a_long_stream(size, hop, chunk):
    PUSHES = 2000
    sw = SlidingWindow(size, hop, 2)
    rng = np.random.default_rng(5)
    block = rng.normal(size=(chunk, 2)).astype(np.float32)
    count = 0
    for _ in range(PUSHES):
        for _window in sw.push(block):
            # while windows are being produced the buffer holds the remainder plus this chunk
            assert len(sw._buf) <= size + chunk
            assert len(sw._times) == len(sw._buf)
            count += 1
        assert len(sw._buf) <= size + chunk
        assert len(sw._buf) < size  # after a push only an incomplete window's worth remains
    total = PUSHES * chunk
    assert sw.samples_seen == total
    assert count == (total - size) // hop + 1


def test_wrong_channel_count_raises_data_error():
    sw = SlidingWindow(4, 2, 3)
    with pytest.raises(DataError, match=r"expected \(n, 3\)"):
        list(sw.push(np.zeros((10, 2), np.float32)))
    with pytest.raises(DataError):
        list(sw.push(np.zeros(10, np.float32)))  # 1-D only allowed for one channel
    with pytest.raises(DataError):
        list(sw.push(np.zeros((2, 5, 3), np.float32)))
    # a rejected chunk leaves the stream untouched
    assert sw.samples_seen == 0
    assert [w.start for w in sw.push(np.zeros((6, 3), np.float32))] == [0, 2]


@pytest.mark.parametrize("args", [(0, 1, 1), (1, 0, 1), (1, 1, 0), (-3, 2, 1)])
def test_bad_window_config_raises_config_error(args):
    with pytest.raises(ConfigError):
        SlidingWindow(*args)


@pytest.mark.parametrize("size,hop", SHAPES)
def test_make_windows_matches_sliding_window(size, hop):
    values, times = _data(rows=777, seed=9)
    batch = make_windows(values, size, hop)
    streamed = _run(size, hop, values, times, "random")
    assert batch.shape == (len(streamed), size, CHANNELS)
    assert batch.dtype == np.float32
    for index, window in enumerate(streamed):
        assert window.start == index * hop
        np.testing.assert_array_equal(batch[index], window.values)


def test_make_windows_too_short_raises_data_error():
    with pytest.raises(DataError):
        make_windows(np.zeros((5, 2)), 6, 1)


def test_restart_after_a_gap_drops_the_partial_window_and_keeps_counting():
    windows = SlidingWindow(4, 2, 1)
    first = windows.push(np.arange(5, dtype=np.float32)[:, None])
    assert [w.start for w in first] == [0]
    windows.restart()  # samples were lost here: no window may mix both sides
    after = windows.push(np.arange(100, 106, dtype=np.float32)[:, None])
    assert [w.start for w in after] == [5, 7]
    assert after[0].values[:, 0].tolist() == [100, 101, 102, 103]
