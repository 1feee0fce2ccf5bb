"""The camera recipe: generated video of a ball circling (normal) and unusual motion (three times
the pace, leaps, standing still), a CNN+LSTM trained on a directory of videos per label through the
device's own frame features (10 fps, 32x24 grey, frame differences), converted, then ``edge-infer``
on the video file and on a local HTTP MJPEG camera: one labelled alert per anomaly, none in normal motion.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2", reason="OpenCV missing: pip install 'edgewatch[camera]'")

from conftest import CAMERA_FPS, CAMERA_HOP, CAMERA_WINDOW  # noqa: E402
from convert.data import DataOptions, load_labelled_clips  # noqa: E402
from edge.bundle import load_bundle  # noqa: E402
from edge.features import FrameSpec  # noqa: E402
from edge.model import load_model  # noqa: E402
from edge.sources import open_source  # noqa: E402
from edge.window import SlidingWindow  # noqa: E402
from mjpeg_server import MjpegServer  # noqa: E402
from video_fixtures import FPS, read_frames  # noqa: E402

SCHEMAS = Path(__file__).resolve().parent.parent / "docs"
SPEC = FrameSpec(fps=CAMERA_FPS, width=32, height=24, diff=True)
WINDOW_S = CAMERA_WINDOW / CAMERA_FPS


def _check_events(alerts: list[dict], segments, offset_of, span: tuple[float, float]) -> None:
    """Each anomaly segment inside ``span`` (stream seconds): one event, its label, starting near it; no other event."""
    import jsonschema

    schema = json.loads((SCHEMAS / "alert.schema.json").read_text())
    for alert in alerts:
        jsonschema.validate(alert, schema)
    starts = [(a["label"], round(offset_of(a), 2)) for a in alerts if a["type"] == "start"]
    expected = [(motion, a, b) for motion, a, b in segments if span[0] <= a and b <= span[1]]
    assert [label for label, _ in starts] == [motion for motion, _, _ in expected], (starts, expected)
    for (label, begin), (motion, a, b) in zip(starts, expected):
        assert a - WINDOW_S - 0.5 <= begin <= b, (label, begin, a, b)


def test_the_bundle_names_the_frame_shape_not_every_pixel(camera_bundle):
    import jsonschema

    manifest = json.loads((camera_bundle.bundle / "manifest.json").read_text())
    jsonschema.validate(manifest, json.loads((SCHEMAS / "manifest.schema.json").read_text()))
    assert manifest["input"]["columns"] == ["frame"] and manifest["input"]["frame_shape"] == [24, 32, 1]
    assert manifest["input"]["shape"] == [1, CAMERA_WINDOW, 24, 32, 1]
    assert manifest["features"] == {"kind": "frames", "source": {"columns": ["frame"], "sample_rate": CAMERA_FPS},
                                    "params": {"width": 32, "height": 24, "grayscale": True, "normalize": "unit",
                                               "diff": True}}
    assert manifest["labels"] == ["fast", "jump", "normal", "stopped"] and manifest["score"]["background"] == "normal"
    bundle = load_bundle(camera_bundle.bundle)
    assert bundle.input.channels == 768 and bundle.input.window_shape == (CAMERA_WINDOW, 24, 32, 1)
    assert bundle.input.media == "video" and bundle.input.source_rate == CAMERA_FPS


def test_a_manifest_listing_one_column_per_pixel_still_loads_and_scores_the_same(camera_bundle, tmp_path):
    copy = tmp_path / "bundle"
    shutil.copytree(camera_bundle.bundle, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["input"]["columns"] = [f"px_{i}" for i in range(768)]
    del manifest["input"]["frame_shape"]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    window = np.random.default_rng(0).normal(0, 0.05, (CAMERA_WINDOW, 768)).astype(np.float32)
    scores = []
    for root in (camera_bundle.bundle, copy):
        model = load_model(load_bundle(root), "fp32")
        try:
            scores.append(model.scorer.scored(window))
        finally:
            model.close()
    assert load_bundle(copy).input.channels == 768
    assert scores[0] == scores[1] and scores[0].label in ("fast", "jump", "stopped")


def test_training_windows_are_the_windows_the_camera_path_computes(video_set):
    """The loader's windows of a video == camera loop (sampled at 10 fps) -> frame features -> SlidingWindow."""
    options = DataOptions(window=CAMERA_WINDOW, hop=CAMERA_HOP, features="frames", seed=0,
                          feature_params=dict(fps=CAMERA_FPS, width=32, height=24, diff=True))
    data = load_labelled_clips(video_set.clips, options)
    assert data.x_train.shape[1:] == (CAMERA_WINDOW, 24, 32, 1) and data.meta["frame_shape"] == [24, 32, 1]
    clip = sorted((video_set.clips / "fast").iterdir())[0]
    source = open_source(f"file:{clip}", ["frame"], sample_rate=CAMERA_FPS, media="video")
    extractor, windows = SPEC.extractor(), SlidingWindow(CAMERA_WINDOW, CAMERA_HOP, SPEC.dims)
    device = [w.values for c in source.chunks() for w in windows.push(*extractor.push(c.values, c.times))]
    assert len(device) == (40 - CAMERA_WINDOW) // CAMERA_HOP + 1  # 4 s at 10 fps
    scaler = data.meta["scaler"]
    first = ((device[0] - scaler["mean"][0]) / scaler["scale"][0]).reshape(CAMERA_WINDOW, 24, 32, 1)
    every = np.concatenate([data.x_train, data.x_val, data.x_test])
    assert np.any(np.all(np.abs(every - first) < 1e-5, axis=(1, 2, 3, 4)))


def test_edge_infer_finds_each_unusual_motion_in_the_video_file(camera_bundle):
    done = subprocess.run([sys.executable, "-m", "edgewatch.infer", "--bundle", str(camera_bundle.bundle),
                           "--source", f"file:{camera_bundle.data.stream}"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    alerts = [json.loads(line) for line in done.stdout.splitlines()]
    _check_events(alerts, camera_bundle.data.segments, lambda a: a["window_start"] / CAMERA_FPS,
                  (0.0, camera_bundle.data.duration_s))
    assert f"frames_used {int(camera_bundle.data.duration_s * CAMERA_FPS)}" in done.stderr


def test_edge_infer_finds_unusual_motion_on_a_live_mjpeg_camera(camera_bundle):
    """The stream's 2-17 s (normal, fast, normal, stopped, normal) served at 20 fps over HTTP on 127.0.0.1."""
    first, last = 2.0, 17.0
    with MjpegServer(fps=FPS, frames=read_frames(camera_bundle.data.stream, first, last)) as server:
        infer = subprocess.Popen([sys.executable, "-m", "edgewatch.infer", "--bundle", str(camera_bundle.bundle),
                                  "--source", f"camera:{server.url}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True)
        try:
            assert server.finished.wait(timeout=90), "the camera stream was not read to its end"
            assert infer.poll() is None, infer.communicate()[1]
        finally:
            infer.send_signal(signal.SIGTERM)
            server.stop()  # ends the quiet connection, so the source stops at once
            out, err = infer.communicate(timeout=30)
    assert infer.returncode == 0, err
    alerts = [json.loads(line) for line in out.splitlines()]
    _check_events(alerts, camera_bundle.data.segments,
                  lambda a: datetime.fromisoformat(a["time_start"]).timestamp() - server.started + first, (first, last))
    assert "live True" in err
