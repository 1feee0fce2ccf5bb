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
