"""Shared pytest fixtures. Each section is independent; append new ones below."""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
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


@pytest.fixture(scope="session")
def pump_data(tmp_path_factory) -> PumpData:
    root = tmp_path_factory.mktemp("pump")
    generate(NORMAL_ROWS, seed=11).write_csv(root / "normal.csv")
    stream = generate(STREAM_ROWS, seed=12, anomalies=demo_anomalies(STREAM_ROWS), offset=NORMAL_ROWS)
    stream.write_csv(root / "stream.csv")
    return PumpData(root / "normal.csv", root / "stream.csv", stream)


@pytest.fixture(scope="session")
def trained_bundle(pump_data, tmp_path_factory) -> TrainedBundle:
    root = tmp_path_factory.mktemp("model")
    model, bundle = root / "model.keras", root / "bundle"
    done = run_cli("edgewatch.cli", "train", "autoencoder", "--data", str(pump_data.normal_csv),
                   "--out", str(model), "--units", "16", "--epochs", "25")
    assert done.returncode == 0, done.stderr[-2000:]
    done = run_cli("edgewatch.cli", "convert", "--model", str(model), "--data", str(pump_data.normal_csv),
                   "--out", str(bundle))
    assert done.returncode == 0, done.stderr[-2000:]
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
    root = tmp_path_factory.mktemp("hum-model")
    model, bundle = root / "hum.keras", root / "bundle"
    done = run_cli("edgewatch.cli", "train", "autoencoder", "--data", str(audio_set.normal), "--features", "logmel",
                   "--window", str(HUM_WINDOW), "--hop", str(HUM_HOP), "--units", "16", "--epochs", "10",
                   "--out", str(model))
    assert done.returncode == 0, done.stderr[-2000:]
    done = run_cli("edgewatch.cli", "convert", "--model", str(model), "--data", str(audio_set.normal),
                   "--out", str(bundle))
    assert done.returncode == 0, done.stderr[-2000:]
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
