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
