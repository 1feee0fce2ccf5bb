"""Camera and video sources against real OpenCV decoding: files written by OpenCV (MJPG/avi,
mp4v/mp4) and a local HTTP MJPEG stream, through the frame features.
"""

from __future__ import annotations

import sys
import threading
import time

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2", reason="OpenCV missing: pip install 'edgewatch[camera]'")

from edge.errors import ConfigError, MissingDependencyError, SourceError  # noqa: E402
from edge.features import FrameSpec  # noqa: E402
from edge.sources import open_source  # noqa: E402
from edge.sources.camera import FrameSampler  # noqa: E402
from mjpeg_server import BAR, MjpegServer, bar_position, write_video  # noqa: E402

SPEC = FrameSpec(fps=10.0, width=80, height=60)


def _open(spec: str, fps: float | None = 10.0, pace: str = "max"):
    return open_source(spec, ["frame"], rate=pace, sample_rate=fps, media="video")


def _positions(chunks) -> list[float]:
    extractor = SPEC.extractor()
    rows = [extractor.push(c.values, c.times)[0][0] for c in chunks]
    return [bar_position(r, SPEC.width, SPEC.height) for r in rows]


@pytest.mark.parametrize("fourcc, suffix", [("MJPG", ".avi"), ("mp4v", ".mp4")])
def test_a_video_file_replays_sampled_to_the_model_rate_by_its_timestamps(tmp_path, fourcc, suffix):
    clip = write_video(tmp_path / f"clip{suffix}", fourcc, frames=40, fps=20.0)
    source = _open(f"file:{clip}")
    chunks = list(source.chunks())
    stats = source.stats()
    assert stats["frames_read"] == 40 and stats["frames_used"] == 20 and len(chunks) == 20
    assert all(c.values.shape == (1, 240, 320, 3) and c.values.dtype == np.uint8 for c in chunks)
    steps = np.diff(_positions(chunks))
    # every second source frame: the bar moves 2 * BAR/2 px at 320 wide = BAR px, i.e. BAR/4 px at 80 wide
    assert np.allclose(steps, BAR / 4, atol=0.15), steps


def test_real_rate_paces_a_video_replay_at_its_timestamps(tmp_path):
    clip = write_video(tmp_path / "clip.avi", "MJPG", frames=30, fps=20.0)
    began = time.monotonic()
    count = sum(1 for _ in _open(f"file:{clip}", fps=None, pace="real").chunks())
    elapsed = time.monotonic() - began
    assert count == 30
    assert 1.35 <= elapsed <= 3.0  # 29 frame intervals of 50 ms


def test_the_frame_sampler_keeps_the_model_rate_and_never_bursts():
    sampler = FrameSampler(10.0)
    kept = [t for t in np.arange(0, 2, 1 / 30) if sampler.take(float(t))]
    assert len(kept) == 20 and np.allclose(np.diff(kept), 0.1, atol=1 / 30)
    slow = FrameSampler(10.0)
    assert [slow.take(t) for t in (0.0, 0.5, 1.0, 1.05, 1.1)] == [True, True, True, False, True]
    # after a stall the source is fast again: the rate resumes from the stall, no burst to catch up
    assert [slow.take(t) for t in (1.6, 1.633, 1.667, 1.7)] == [True, False, False, True]


def test_an_http_mjpeg_camera_is_sampled_by_arrival_time_and_its_rate_measured():
    with MjpegServer(fps=30.0) as server:
        source = _open(f"camera:{server.url}")
        began, chunks = time.monotonic(), []
        for chunk in source.chunks():
            chunks.append(chunk)
            if time.monotonic() - began > 2.0:
                break
        stats = source.stats()
        source.close()
    assert stats["live"] and stats["frames_used"] == len(chunks)
    assert 25 <= stats["fps_in"] <= 35, stats  # measured, not the 25 fps OpenCV reports for MJPEG over HTTP
    arrivals = np.array([c.times[0] for c in chunks])
    assert 8.0 <= len(chunks) / (arrivals[-1] - arrivals[0] + 0.1) <= 12.0, stats
    assert np.all(np.isfinite(arrivals)) and abs(arrivals[-1] - time.time()) < 5


def test_an_mjpeg_camera_that_restarts_is_reopened_and_the_gap_is_marked():
    server = MjpegServer(fps=30.0).start()
    source = _open(f"camera:{server.url}")
    got, errors = [], []

    def read() -> None:
        try:
            for chunk in source.chunks():
                got.append(chunk)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        time.sleep(1.0)
        before = len(got)
        server.stop()
        time.sleep(1.0)
        server.start()
        deadline = time.monotonic() + 15
        while len(got) < before + 10 and time.monotonic() < deadline:
            time.sleep(0.1)
        stats = source.stats()
    finally:
        source.close()
        reader.join(timeout=10)
        server.stop()
    assert not errors, errors
    assert before > 5 and len(got) >= before + 10, stats
    assert stats["reconnects"] >= 1 and stats["last_error"]
    assert any(c.gap for c in got[before:]), "the first frame after the reconnect must mark the gap"


def test_camera_misuse_is_one_clear_error(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="no frame features"):
        open_source("camera:0", ["temperature"], sample_rate=10.0, media="rows")
    with pytest.raises(ConfigError, match="neither an index"):
        _open(f"camera:{tmp_path / 'missing.avi'}")
    with pytest.raises(SourceError, match="cannot open camera:7"):
        _open("camera:7")  # no /dev/video7 here
    with pytest.raises(ConfigError, match="expects camera frames"):
        open_source(f"file:{tmp_path / 'x.csv'}", ["frame"], media="video")
    monkeypatch.setitem(sys.modules, "cv2", None)
    clip = tmp_path / "clip.avi"
    clip.write_bytes(b"")
    with pytest.raises(MissingDependencyError, match=r"pip install 'edgewatch\[camera\]'"):
        _open(f"file:{clip}")
