"""Shared pytest fixtures. Each section is independent; append new ones below."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Callable, Iterator

import pytest

# ============================================================================
# MQTT: a real Mosquitto broker and a subscriber that collects messages
# ============================================================================

from edgewatch.broker import LocalBroker  # noqa: E402
from edgewatch.subscriber import MqttCollector  # noqa: E402

@pytest.fixture(scope="session")
def mqtt_broker() -> Iterator[LocalBroker]:
    """One Mosquitto on a free 127.0.0.1 port for the whole session; do not stop it in tests."""
    with LocalBroker() as broker:
        yield broker


@pytest.fixture
def mqtt_collector() -> Callable[..., contextlib.AbstractContextManager[MqttCollector]]:
    """Factory: ``with mqtt_collector(broker, "edgewatch/+/alerts") as c: c.wait_for(3)``."""
    return MqttCollector


# ============================================================================
# Models: generated pump data, and a tiny model trained and converted ONCE per
# session through the real CLI (`edgewatch train` / `edgewatch convert`).
# ============================================================================

import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from edgewatch.synth import Recording, demo_anomalies, generate  # noqa: E402

NORMAL_ROWS, STREAM_ROWS = 8000, 4000


@dataclass(frozen=True)
class PumpData:
    normal_csv: Path
    stream_csv: Path
    stream: Recording


@dataclass(frozen=True)
class TrainedBundle:
    model: Path
    bundle: Path
    data: PumpData


def run_cli(*args: str, timeout: float = 600, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m edgewatch.<module> args`` as a user would; text output captured."""
    full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "COLUMNS": "200", **(env or {})}
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, timeout=timeout,
                          env=full_env)


def train_and_convert(data: Path, root: Path, train_args: tuple = (), convert_args: tuple = (),
                      model_name: str = "model.keras") -> tuple[Path, Path, subprocess.CompletedProcess]:
    """``edgewatch train autoencoder`` then ``edgewatch convert`` on ``data``, as a user would; both must succeed.

    Returns the model, the bundle directory and convert's completed process (its stderr holds the table).
    """
    model, bundle = root / model_name, root / "bundle"
    done = run_cli("edgewatch.cli", "train", "autoencoder", "--data", str(data), "--out", str(model), *train_args)
    assert done.returncode == 0, done.stderr[-2000:]
    converted = run_cli("edgewatch.cli", "convert", "--model", str(model), "--data", str(data), "--out", str(bundle),
                        *convert_args)
    assert converted.returncode == 0, converted.stderr[-2000:]
    return model, bundle, converted


@pytest.fixture(scope="session")
def pump_data(tmp_path_factory) -> PumpData:
    root = tmp_path_factory.mktemp("pump")
    generate(NORMAL_ROWS, seed=11).write_csv(root / "normal.csv")
    stream = generate(STREAM_ROWS, seed=12, anomalies=demo_anomalies(STREAM_ROWS), offset=NORMAL_ROWS)
    stream.write_csv(root / "stream.csv")
    return PumpData(root / "normal.csv", root / "stream.csv", stream)


@pytest.fixture(scope="session")
def trained_bundle(pump_data, tmp_path_factory) -> TrainedBundle:
    model, bundle, _ = train_and_convert(pump_data.normal_csv, tmp_path_factory.mktemp("model"),
                                         ("--units", "16", "--epochs", "25"))
    return TrainedBundle(model, bundle, pump_data)


# ============================================================================
# Audio: sox-made machine sounds, a log-mel autoencoder bundle trained on them
# through the real CLI, and a real microphone (user-mode PulseAudio + PortAudio).
# ============================================================================

from audio_fixtures import AudioSet, make_audio_set, sox_missing  # noqa: E402
from edgewatch.virtual_mic import VirtualMic, pulseaudio_missing  # noqa: E402

HUM_WINDOW, HUM_HOP = 50, 25  # log-mel frames (10 ms each): 0.5 s windows every 0.25 s


@dataclass(frozen=True)
class AudioBundle:
    model: Path
    bundle: Path
    audio: AudioSet


@pytest.fixture(scope="session")
def audio_set(tmp_path_factory) -> AudioSet:
    missing = sox_missing()
    assert missing is None, missing  # setup.sh installs sox: a missing one is a broken install, not a skip
    return make_audio_set(tmp_path_factory.mktemp("audio"))


@pytest.fixture(scope="session")
def hum_bundle(audio_set, tmp_path_factory) -> AudioBundle:
    """An LSTM autoencoder on log-mel frames of the normal hum, trained and converted by the CLI."""
    train_args = ("--features", "logmel", "--window", str(HUM_WINDOW), "--hop", str(HUM_HOP), "--units", "16",
                  "--epochs", "10")
    model, bundle, _ = train_and_convert(audio_set.normal, tmp_path_factory.mktemp("hum-model"), train_args,
                                         model_name="hum.keras")
    return AudioBundle(model, bundle, audio_set)


@pytest.fixture(scope="session")
def virtual_mic() -> Iterator[VirtualMic]:
    """PulseAudio for the session; PULSE_SERVER is set for this process and its children."""
    missing = pulseaudio_missing()
    assert missing is None, missing
    mic = VirtualMic().start()
    previous = os.environ.get("PULSE_SERVER")
    os.environ["PULSE_SERVER"] = mic.server
    try:
        yield mic
    finally:
        mic.close()
        if previous is None:
            os.environ.pop("PULSE_SERVER", None)
        else:
            os.environ["PULSE_SERVER"] = previous


# ============================================================================
# Model families: one tiny model per family, trained for a few epochs on
# generated data and converted to every variant ONCE per session (in-process).
# ============================================================================

from edgewatch import synth_data  # noqa: E402

# family -> (data writer, file, training settings, variants to build (None: all))
FAMILY_SETUPS = {
    "lstm_classifier": (lambda p: synth_data.write_labelled_events(p, rows=3000), "events.csv",
                        dict(window=24, units=12, epochs=8), None),  # 4 epochs confuse background and hum
    "gru_classifier": (lambda p: synth_data.write_labelled_events(p, rows=3000), "events.csv",
                       dict(window=24, units=12), ("fp32", "int8", "int8_unrolled")),
    "bilstm_classifier": (lambda p: synth_data.write_labelled_events(p, rows=3000), "events.csv",
                          dict(window=24, units=8), ("fp32", "int8")),
    "lstm_forecaster": (lambda p: generate(2500, seed=3).write_csv(p), "pump.csv", dict(window=24, units=12),
                        ("fp32", "int8", "onnx_dynamic")),
    "cnn_lstm": (lambda p: synth_data.write_frames(p, count=150, frames=6, size=12), "frames.npz",
                 dict(units=8, filters=4), ("fp32", "int8", "onnx")),
    "text_classifier": (lambda p: synth_data.write_text_reviews(p, count=300), "reviews.csv",
                        dict(window=16, units=8), ("fp32", "int8", "onnx_dynamic")),
    "char_generator": (lambda p: synth_data.write_char_text(p, sentences=200), "chars.txt",
                       dict(window=12, units=24, hop=2), ("fp32", "int8", "onnx")),
}


@dataclass(frozen=True)
class FamilyBundle:
    family: str
    model: Path
    data: Path
    bundle: Path
    manifest: dict


@pytest.fixture(scope="session")
def family_bundles(tmp_path_factory) -> dict[str, FamilyBundle]:
    from convert.pipeline import ConvertConfig, convert_model
    from convert.train import TrainConfig, train_model

    root = tmp_path_factory.mktemp("families")
    built = {}
    for family, (write, name, settings, variants) in FAMILY_SETUPS.items():
        data = root / name
        if not data.exists():
            write(data)
        model = root / f"{family}.keras"
        train_model(data, model, TrainConfig(**{"family": family, "epochs": 4, "seed": 1, **settings}))
        config = ConvertConfig(variants=variants, latency_repeats=40, eval_limit=300,
                               plots=family == "lstm_classifier", representative_count=100)
        manifest = convert_model(model, data, root / f"{family}_bundle", config, step=lambda _: None)
        built[family] = FamilyBundle(family, model, data, root / f"{family}_bundle", manifest)
    return built


# ============================================================================
# Recipes (README "Recipes"): spoken keywords made with espeak-ng + sox -> an MFCC + LSTM
# classifier; generated camera video -> a CNN+LSTM on frame differences. Each is trained
# and converted ONCE per session through the real CLI on a directory per label.
# ============================================================================

from keyword_fixtures import WINDOW_FRAMES, KeywordSet, espeak_missing, make_keyword_set  # noqa: E402
from video_fixtures import VideoSet, make_video_set  # noqa: E402

KEYWORD_HOP = 5  # MFCC frames between windows on the device: 50 ms
CAMERA_WINDOW, CAMERA_HOP, CAMERA_FPS, CAMERA_SIZE = 8, 2, 10.0, "32x24"  # frames; 0.8 s windows every 0.2 s


@dataclass(frozen=True)
class RecipeBundle:
    model: Path
    bundle: Path
    data: KeywordSet | VideoSet


def _train_and_convert(root: Path, data: Path, train: list[str], variants: str) -> tuple[Path, Path]:
    model, bundle = root / "model.keras", root / "bundle"
    done = run_cli("edgewatch.cli", "train", *train, "--data", str(data), "--out", str(model))
    assert done.returncode == 0, done.stderr[-2000:]
    done = run_cli("edgewatch.cli", "convert", "--model", str(model), "--data", str(data), "--out", str(bundle),
                   "--variants", variants, "--no-plots")
    assert done.returncode == 0, done.stderr[-2000:]
    return model, bundle


@pytest.fixture(scope="session")
def keyword_set(tmp_path_factory) -> KeywordSet:
    missing = espeak_missing()
    assert missing is None, missing  # setup.sh installs espeak-ng and sox: a missing one is a broken install
    return make_keyword_set(tmp_path_factory.mktemp("keywords"))


@pytest.fixture(scope="session")
def keyword_bundle(keyword_set, tmp_path_factory) -> RecipeBundle:
    """MFCC + LSTM keyword classifier (alarm, start, stop, background), trained by ``edgewatch train classifier``."""
    model, bundle = _train_and_convert(
        tmp_path_factory.mktemp("keyword-model"), keyword_set.clips,
        ["classifier", "--features", "mfcc", "--window", str(WINDOW_FRAMES), "--hop", str(KEYWORD_HOP),
         "--units", "32", "--epochs", "40", "--patience", "10"], "fp32,dynamic,onnx_dynamic")
    return RecipeBundle(model, bundle, keyword_set)


@pytest.fixture(scope="session")
def video_set(tmp_path_factory) -> VideoSet:
    pytest.importorskip("cv2", reason="OpenCV missing: pip install 'edgewatch[camera]'")
    return make_video_set(tmp_path_factory.mktemp("video"))


@pytest.fixture(scope="session")
def camera_bundle(video_set, tmp_path_factory) -> RecipeBundle:
    """CNN+LSTM over frame differences (normal, fast, jump, stopped), trained by ``edgewatch train cnn-lstm``."""
    model, bundle = _train_and_convert(
        tmp_path_factory.mktemp("camera-model"), video_set.clips,
        ["cnn-lstm", "--diff", "--fps", str(CAMERA_FPS), "--frame-size", CAMERA_SIZE, "--window", str(CAMERA_WINDOW),
         "--hop", str(CAMERA_HOP), "--units", "16", "--filters", "8", "--epochs", "30"], "fp32,dynamic,onnx")
    return RecipeBundle(model, bundle, video_set)


@pytest.fixture
def uart(tmp_path):
    """A pty pair behind a stable symlink and a simulated MCU writing to it (``tests/serial_fixtures.py``)."""
    from serial_fixtures import FakeUart

    fake = FakeUart(tmp_path)
    yield fake
    fake.close()
