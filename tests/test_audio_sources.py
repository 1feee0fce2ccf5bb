"""Audio sources against real parts: WAV files written by sox, PortAudio on a user-mode PulseAudio
microphone fed by paplay, and a log-mel autoencoder converted to LiteRT.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from audio_fixtures import sox
from conftest import HUM_HOP, HUM_WINDOW
from edge.bundle import load_bundle
from edge.errors import ConfigError, DataError, MissingDependencyError, SourceError
from edge.model import load_model
from edge.sources import open_source
from edge.sources.wavfile import read_wav
from edge.window import SlidingWindow

FRAME_RATE = 100.0  # log-mel frames per second of the hum bundle (10 ms hop)


def _tone(root: Path, name: str, freq: float, secs: float, rate: int = 16000, extra: tuple[str, ...] = ()) -> Path:
    path = root / name
    sox("-n", "-r", str(rate), "-b", "16", *extra, str(path), "synth", str(secs), "sine", str(freq), "vol", "0.5")
    return path


def _collect(source, enough: int, timeout: float) -> np.ndarray:
    """Read chunks until ``enough`` samples after the first sound arrived (or ``timeout``); returns those."""
    got, onset, deadline = [], None, time.monotonic() + timeout
    total = 0
    for chunk in source.chunks():
        values = chunk.values[:, 0]
        if onset is None and np.any(np.abs(values) > 1e-3):
            onset = total + int(np.argmax(np.abs(values) > 1e-3))
        got.append(values)
        total += len(values)
        if (onset is not None and total - onset >= enough) or time.monotonic() > deadline:
            break
    audio = np.concatenate(got) if got else np.empty(0, np.float32)
    return audio[onset:] if onset is not None else audio[:0]


def _scores(model, spec, samples: np.ndarray, chunk: int) -> list[float]:
    """Exactly what the pipeline does per chunk: features -> windows -> scorer."""
    features, windows = spec.extractor(), SlidingWindow(spec.window, spec.hop, spec.channels)
    scores = []
    for start in range(0, len(samples), chunk):
        frames, times = features.push(samples[start:start + chunk])
        scores.extend(model.scorer(w.values) for w in windows.push(frames, times))
    return scores


# -- WAV replay -------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", [("-b", "16"), ("-b", "24"), ("-b", "32", "-e", "signed"),
                                      ("-b", "32", "-e", "float"), ("-b", "8", "-e", "unsigned")])
def test_wav_reader_decodes_what_sox_writes_like_libsndfile(tmp_path, encoding):
    soundfile = pytest.importorskip("soundfile")  # comes with librosa (dev extra)
    path = tmp_path / "t.wav"
    sox("-n", "-r", "22050", "-c", "2", *encoding, str(path), "synth", "0.3", "sine", "440", "sine", "660")
    ours, rate = read_wav(path)
    theirs, their_rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    assert rate == their_rate == 22050 and ours.shape == theirs.shape == (6615, 2)
    assert np.array_equal(ours, theirs)


def test_wav_replay_resamples_and_downmixes_to_the_bundle_rate(tmp_path):
    path = _tone(tmp_path, "tone44k.wav", 1000.0, 1.0, rate=44100, extra=("-c", "2"))
    source = open_source(f"file:{path}", ["audio"], sample_rate=16000, media="audio")
    audio = np.concatenate([c.values for c in source.chunks()])
    assert audio.shape[1] == 1 and abs(len(audio) - 16000) <= 1
    spectrum = np.abs(np.fft.rfft(audio[2000:, 0]))
    assert abs(np.argmax(spectrum) * 16000 / (len(audio) - 2000) - 1000.0) < 2.0
    assert abs(np.sqrt(np.mean(audio[2000:, 0] ** 2)) - 0.5 / np.sqrt(2)) < 0.01
    assert source.stats()["native_rate"] == 44100


def test_a_bad_file_is_one_clear_error(tmp_path):
    bogus = tmp_path / "bogus.wav"
    bogus.write_bytes(b"not a wav at all")
    with pytest.raises(DataError, match="not a WAV"):
        open_source(f"file:{bogus}", ["audio"], sample_rate=16000, media="audio")
    with pytest.raises(ConfigError, match="unknown file type"):
        open_source(f"file:{tmp_path / 'x.flac'}", ["audio"])
    with pytest.raises(ConfigError, match="unknown source"):
        open_source("microphone", ["audio"])


def test_the_log_mel_bundle_carries_its_features_and_refuses_inconsistent_ones(hum_bundle, tmp_path):
    import shutil

    import jsonschema

    from edge.errors import BundleError

    manifest = json.loads((hum_bundle.bundle / "manifest.json").read_text())
    schema = json.loads((Path(__file__).resolve().parent.parent / "docs" / "manifest.schema.json").read_text())
    jsonschema.validate(manifest, schema)
    spec = load_bundle(hum_bundle.bundle).input
    assert manifest["features"]["kind"] == "logmel" and spec.source_columns == ("audio",)
    assert spec.source_rate == 16000 and spec.sample_rate == FRAME_RATE and spec.channels == 40
    assert manifest["input"]["shape"] == [1, HUM_WINDOW, 40] and spec.media == "audio"
    broken = tmp_path / "broken"
    shutil.copytree(hum_bundle.bundle, broken)
    manifest["features"]["params"]["n_mels"] = 32  # no longer the 40 columns the model eats
    (broken / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="32 values per frame but its input names 40 columns"):
        load_bundle(broken)


def test_scores_are_identical_whatever_the_chunk_size(hum_bundle):
    """The same audio in chunks of 1, 160, 1000 and 16000 samples -> log-mel -> windows -> LiteRT INT8."""
    bundle = load_bundle(hum_bundle.bundle)
    spec = bundle.input
    assert spec.features.kind == "logmel" and (spec.window, spec.hop) == (HUM_WINDOW, HUM_HOP)
    samples, rate = read_wav(hum_bundle.audio.stream)
    samples = samples[: 3 * rate]
    model = load_model(bundle)  # the default variant: full INT8 on LiteRT
    try:
        reference = _scores(model, spec, samples, 16000)
        assert len(reference) == 1 + ((3 * rate - 512) // 160 + 1 - HUM_WINDOW) // HUM_HOP
        for chunk in (1, 160, 1000):
            assert _scores(model, spec, samples, chunk) == reference, chunk
    finally:
        model.close()


def _events(stdout: str) -> list[dict]:
    return [a for a in (json.loads(line) for line in stdout.splitlines() if line.startswith("{"))
            if a["type"] == "start"]


def test_edge_infer_finds_each_sox_anomaly_in_a_wav_replay_and_nothing_else(hum_bundle):
    """The audio anomaly recipe: shift, clicks and surge each give one event; the normal hum none."""
    done = subprocess.run([sys.executable, "-m", "edgewatch.infer", "--bundle", str(hum_bundle.bundle),
                           "--source", f"file:{hum_bundle.audio.stream}"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    events = _events(done.stdout)
    found = {}
    for event in events:
        start_s = event["window_start"] / FRAME_RATE
        end_s = event["window_end"] / FRAME_RATE
        hits = [name for name, (a, b) in hum_bundle.audio.anomalies.items() if start_s < b + 0.5 and end_s > a - 0.5]
        assert len(hits) == 1, (event, hum_bundle.audio.anomalies)
        found.setdefault(hits[0], 0)
        found[hits[0]] += 1
    assert found == {name: 1 for name in hum_bundle.audio.anomalies}, done.stdout


# -- the microphone ---------------------------------------------------------------------------------


def test_the_microphone_hears_paplay_resampled_to_the_bundle_rate(virtual_mic, tmp_path):
    tone = _tone(tmp_path, "tone.wav", 1000.0, 2.0)
    source = open_source("mic", ["audio"], sample_rate=16000, media="audio")
    try:
        player = virtual_mic.play(tone)
        audio = _collect(source, 16000, timeout=10.0)
        player.wait(timeout=10)
        stats = source.stats()
    finally:
        source.close()
    assert len(audio) >= 16000, stats
    assert stats["rate"] == 16000 and stats["native_rate"] > 0 and stats["overflows"] == 0
    segment = audio[1000:16000]
    peak = np.argmax(np.abs(np.fft.rfft(segment))) * 16000 / len(segment)
    assert abs(peak - 1000.0) < 3.0
    assert abs(np.sqrt(np.mean(segment ** 2)) - 0.5 / np.sqrt(2)) < 0.02


def test_a_slow_consumer_loses_blocks_only_on_the_device_queue_and_each_is_counted(virtual_mic):
    source = open_source("mic:?queue=4", ["audio"], sample_rate=16000, media="audio")
    try:
        chunks = source.chunks()
        next(chunks)  # the stream runs; now stop reading for a while
        time.sleep(1.5)
        for _ in range(3):
            next(chunks)
        source.close()
        for _ in chunks:  # ends within 0.2 s
            pass
        stats = source.stats()
    finally:
        source.close()
    assert stats["dropped_blocks"] > 0 and stats["dropped_frames"] > 0
    assert stats["frames_in"] == stats["frames_taken"] + stats["dropped_frames"] + stats["queued_frames"], stats


def test_the_microphone_comes_back_after_the_audio_server_restarts(virtual_mic, tmp_path):
    tone = _tone(tmp_path, "tone.wav", 500.0, 3.0)
    source = open_source("mic:?stall=1&reconnect=20", ["audio"], sample_rate=16000, media="audio")
    heard_after: list[np.ndarray] = []
    gaps: list[int] = []
    restarted = threading.Event()

    def read() -> None:
        for chunk in source.chunks():
            gaps.append(chunk.gap)
            if restarted.is_set():
                heard_after.append(chunk.values[np.abs(chunk.values[:, 0]) > 1e-3])

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        time.sleep(2.0)
        virtual_mic.stop()
        time.sleep(1.0)
        virtual_mic.start()
        restarted.set()
        deadline = time.monotonic() + 15
        while source.stats()["reconnects"] < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        player = virtual_mic.play(tone)
        while sum(map(len, heard_after)) < 8000 and time.monotonic() < deadline:
            time.sleep(0.1)
        player.wait(timeout=10)
        stats = source.stats()
    finally:
        source.close()
        reader.join(timeout=5)
    assert stats["reconnects"] >= 1 and stats["last_error"], stats
    assert sum(map(len, heard_after)) >= 8000, stats
    assert gaps[0] == 0 and sum(1 for g in gaps if g) == stats["reconnects"], (gaps[:5], stats)  # windows restart


def test_an_unknown_microphone_names_the_inputs_there_are(virtual_mic):
    with pytest.raises(SourceError, match="no input device matches.*inputs: .*pulse"):
        open_source("mic:NoSuchMicrophone", ["audio"], sample_rate=16000, media="audio")
    with pytest.raises(ConfigError, match="unknown option"):
        open_source("mic:0?speed=2", ["audio"])


def test_without_sounddevice_the_error_says_which_extra_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sounddevice", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'edgewatch\[audio\]'"):
        open_source("mic", ["audio"], sample_rate=16000, media="audio")


def test_edge_infer_on_the_live_microphone_alerts_on_the_anomalies_as_they_play(hum_bundle, virtual_mic):
    """paplay the anomalous stream into the microphone; each anomaly gives an event at its time.

    Playing starts first (a silent microphone is itself unlike the hum), edge-infer joins during
    the first 6 s of normal hum. Events after the stream's end are the machine falling silent.
    """
    started = time.time()
    player = virtual_mic.play(hum_bundle.audio.stream_44k)
    infer = subprocess.Popen([sys.executable, "-m", "edgewatch.infer", "--bundle", str(hum_bundle.bundle),
                              "--source", "mic"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=virtual_mic.env)
    try:
        player.wait(timeout=60)
        assert infer.poll() is None, infer.communicate()[1]
    finally:
        infer.send_signal(signal.SIGTERM)
        out, err = infer.communicate(timeout=30)
    assert infer.returncode == 0, err
    hits = set()
    for event in _events(out):
        begin = _epoch(event["time_start"]) - started
        if begin > hum_bundle.audio.duration_s:
            continue  # the hum stopped
        names = [n for n, (a, b) in hum_bundle.audio.anomalies.items() if a - 1.0 <= begin <= b + 1.5]
        assert names, (begin, event, hum_bundle.audio.anomalies)
        hits.update(names)
    assert hits == set(hum_bundle.audio.anomalies), (hits, out, err)
    assert "source mic: device" in err  # the run's source counters are reported


def _epoch(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso).timestamp()
