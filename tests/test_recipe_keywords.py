"""The keyword recipe: words spoken by espeak-ng, an MFCC + LSTM classifier trained on a directory
per label through the device's own MFCC code, converted, then ``edge-infer`` on a WAV replay and
on a live microphone (user-mode PulseAudio fed by paplay) raises one alert per spoken keyword,
labelled with it, and none for other words, noise or silence.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from conftest import KEYWORD_HOP
from convert.data import DataOptions, load_labelled_clips
from edge.bundle import load_bundle
from edge.errors import ConfigError, DataError
from edge.features import MfccSpec
from edge.sources import open_source
from edge.window import SlidingWindow
from keyword_fixtures import WINDOW_FRAMES

SCHEMAS = Path(__file__).resolve().parent.parent / "docs"


def _alerts(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def _check_alerts(alerts: list[dict], spoken, offset_of) -> None:
    """One event per spoken keyword, in order, with its label, near its time; nothing else.

    ``offset_of(alert)`` is the event's start in seconds of the stream.
    """
    import jsonschema

    schema = json.loads((SCHEMAS / "alert.schema.json").read_text())
    for alert in alerts:
        jsonschema.validate(alert, schema)
    starts = [a for a in alerts if a["type"] == "start"]
    assert [a["label"] for a in starts] == [word for _, word in spoken], [(a["label"], offset_of(a)) for a in starts]
    for alert, (onset, word) in zip(starts, spoken):
        # the first window holding the whole word begins up to a window (1.02 s) before it is spoken
        assert -1.5 <= offset_of(alert) - onset <= 2.5, (word, onset, offset_of(alert))
    ends = [a for a in alerts if a["type"] == "end"]
    assert [a["event_id"] for a in ends] == [a["event_id"] for a in starts]
    assert all(a["label"] == s["label"] for a, s in zip(ends, starts))


def test_the_bundle_says_mfcc_and_its_labels(keyword_bundle):
    import jsonschema

    manifest = json.loads((keyword_bundle.bundle / "manifest.json").read_text())
    jsonschema.validate(manifest, json.loads((SCHEMAS / "manifest.schema.json").read_text()))
    bundle = load_bundle(keyword_bundle.bundle)
    assert manifest["features"]["kind"] == "mfcc" and bundle.input.source_columns == ("audio",)
    assert (bundle.input.window, bundle.input.hop, bundle.input.sample_rate) == (WINDOW_FRAMES, KEYWORD_HOP, 100.0)
    assert bundle.labels == ("alarm", "background", "start", "stop")
    assert manifest["score"]["kind"] == "class_confidence" and manifest["score"]["background"] == "background"
    assert manifest["model"]["trained_on"]["recordings"] == {
        label: len(list((keyword_bundle.data.clips / label).iterdir())) for label in bundle.labels}


def test_training_windows_are_the_windows_the_device_computes(keyword_set):
    """The loader's windows of a clip == WAV replay -> streaming MFCC -> SlidingWindow, as in edge-infer."""
    options = DataOptions(window=WINDOW_FRAMES, hop=KEYWORD_HOP, features="mfcc", seed=0)
    data = load_labelled_clips(keyword_set.clips, options)
    spec = MfccSpec()
    clip = sorted((keyword_set.clips / "alarm").iterdir())[0]
    source = open_source(f"file:{clip}", ["audio"], sample_rate=16000, media="audio")
    extractor, windows = spec.extractor(), SlidingWindow(WINDOW_FRAMES, KEYWORD_HOP, spec.dims)
    device = [w.values for chunk in source.chunks() for w in windows.push(*extractor.push(chunk.values))]
    assert len(device) == 1  # a clip is one window long
    raw = data.meta["scaler"]
    scaled = (device[0] - np.asarray(raw["mean"], np.float32)) / np.asarray(raw["scale"], np.float32)
    every = np.concatenate([data.x_train, data.x_val, data.x_test])
    assert np.any(np.all(np.abs(every - scaled) < 1e-5, axis=(1, 2)))
    assert len(every) == sum(data.meta["data"]["recordings"].values())  # one window per clip, each in one part
    assert len(data.x_test) >= 4 and len(data.x_val) >= 4


def test_edge_infer_alerts_once_per_keyword_in_a_wav_replay(keyword_bundle):
    done = subprocess.run([sys.executable, "-m", "edgewatch.infer", "--bundle", str(keyword_bundle.bundle),
                           "--source", f"file:{keyword_bundle.data.stream}"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    frame_rate = 100.0
    _check_alerts(_alerts(done.stdout), keyword_bundle.data.spoken, lambda a: a["window_start"] / frame_rate)


def test_edge_infer_on_the_live_microphone_hears_each_keyword_once(keyword_bundle, virtual_mic):
    """edge-infer listens first (its PortAudio stream is connected), then paplay speaks the stream."""
    infer = subprocess.Popen([sys.executable, "-m", "edgewatch.infer", "--bundle", str(keyword_bundle.bundle),
                              "--source", "mic"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=virtual_mic.env)
    try:
        virtual_mic.wait_for_recorder(timeout=60)
        started = time.time()
        player = virtual_mic.play(keyword_bundle.data.stream)
        assert player.wait(timeout=90) == 0, player.stderr.read()
        time.sleep(2.0)  # the last word's windows
        assert infer.poll() is None, infer.communicate()[1]
    finally:
        infer.send_signal(signal.SIGTERM)
        out, err = infer.communicate(timeout=30)
    assert infer.returncode == 0, err
    _check_alerts(_alerts(out), keyword_bundle.data.spoken,
                  lambda a: datetime.fromisoformat(a["time_start"]).timestamp() - started)


def test_recording_directories_that_cannot_train_say_why(tmp_path, keyword_set):
    options = DataOptions(window=WINDOW_FRAMES, hop=KEYWORD_HOP, features="mfcc")
    one = tmp_path / "one"
    shutil.copytree(keyword_set.clips / "alarm", one / "alarm")
    with pytest.raises(DataError, match="one directory per label .at least 2."):
        load_labelled_clips(one, options)
    few = tmp_path / "few"
    shutil.copytree(keyword_set.clips / "alarm", few / "alarm")
    (few / "stop").mkdir()
    for clip in sorted((keyword_set.clips / "stop").iterdir())[:2]:
        shutil.copy(clip, few / "stop")
    with pytest.raises(DataError, match=r"at least 3 recordings .*too few in: stop \(2\)"):
        load_labelled_clips(few, options)
    with pytest.raises(DataError, match=r"alarm/alarm_00_0.wav gives 102 mfcc frames, fewer than one window of 150"):
        load_labelled_clips(keyword_set.clips, DataOptions(window=150, hop=5, features="mfcc"))
    with pytest.raises(ConfigError, match="needs --features"):
        load_labelled_clips(keyword_set.clips, DataOptions(window=WINDOW_FRAMES))


def test_the_cli_refuses_features_with_a_csv_in_one_line(tmp_path):
    from conftest import run_cli

    csv = tmp_path / "rows.csv"
    csv.write_text("a,label\n1,x\n")
    done = run_cli("edgewatch.cli", "train", "classifier", "--data", str(csv), "--features", "mfcc",
                   "--out", str(tmp_path / "m.keras"))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "--features mfcc/logmel goes with a directory of labelled WAV recordings" in done.stderr
