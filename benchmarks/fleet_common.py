"""What benchmarks/fleet.py's two parts share: machine facts, alerts, consumers, sinks."""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import subprocess
import sys
import threading
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import paho.mqtt.client as mqtt  # noqa: E402

from edge.alerts import Alert  # noqa: E402
from edge.outbox import Outbox  # noqa: E402
from edge.sinks import MqttConfig, MqttSink  # noqa: E402
from edgewatch.broker import LocalBroker, find_mosquitto  # noqa: E402

SHARED_FILTER = "$share/edgewatch/edgewatch/+/alerts"


# -- machine facts -------------------------------------------------------------


def _fsync_latency_ms(directory: Path, count: int = 100) -> float:
    """Median time of write + fsync of 512 bytes in ``directory`` (what a FULL commit waits for)."""
    path = directory / "fsync.probe"
    times = []
    with open(path, "wb") as f:
        for _ in range(count):
            t = time.perf_counter()
            f.write(b"x" * 512)
            f.flush()
            os.fsync(f.fileno())
            times.append(time.perf_counter() - t)
    path.unlink()
    return sorted(times)[len(times) // 2] * 1000


def machine_info(workdir: Path) -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mosquitto = subprocess.run([find_mosquitto(), "-h"], capture_output=True, text=True).stdout.splitlines()
    mounts = {parts[1]: parts[2] for parts in (line.split() for line in Path("/proc/mounts").read_text().splitlines())}
    mount = max((m for m in mounts if str(workdir.resolve()).startswith(m)), key=len)
    try:
        paho_version = version("paho-mqtt")
    except PackageNotFoundError:
        paho_version = "?"
    return {
        "platform": platform.platform(), "cpu": cpu, "cpu_count": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(), "paho_mqtt": paho_version, "sqlite": sqlite3.sqlite_version,
        "mosquitto": mosquitto[0] if mosquitto else "?", "outbox_fs": f"{mounts[mount]} on {mount}",
        "fsync_ms_median": round(_fsync_latency_ms(workdir), 3),
        "load_average_1m_at_start": round(os.getloadavg()[0], 2),
    }


def print_machine(info: dict) -> None:
    print(f"machine   {info['platform']}, {info['cpu']}, {info['cpu_count']} CPUs, {info['memory_gib']} GiB")
    print(f"software  Python {info['python']}, paho-mqtt {info['paho_mqtt']}, SQLite {info['sqlite']}, "
          f"{info['mosquitto']}")
    print(f"disk      outbox files on {info['outbox_fs']}; write+fsync of 512 B: {info['fsync_ms_median']:.2f} ms "
          f"(median)")
    print(f"load      1-minute load average at start: {info['load_average_1m_at_start']:.2f} "
          f"(other work on the machine skews every figure below)")


# -- helpers -------------------------------------------------------------------


def make_alert(device: str, i: int) -> Alert:
    return Alert(device, "fan-ae", "int8", 0.9 + i / 1000, 0.5, i * 100, i * 100 + 1024, None, None,
                 "bench:fleet", event_id=f"{device}-{i}")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def wait_until(predicate, timeout: float, poll: float = 0.01) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(poll)
    return True


class Consumers:
    """``count`` paho MQTT 5 clients on one topic filter (a shared subscription by default).

    ``on_message`` runs on each client's paho thread and only appends ``(payload, monotonic, index)``;
    :meth:`first_seen` parses the ids on the caller's thread.
    """

    def __init__(self, broker: LocalBroker, count: int, topic: str = SHARED_FILTER) -> None:
        self.received: list[tuple[bytes, float, int]] = []
        self._first: dict[str, float] = {}
        self._parsed = 0
        self._subscribed = threading.Semaphore(0)
        self._clients = []
        self._broker, self._topic = broker, topic
        for i in range(count):
            client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"fleet-consumer-{i}",
                                 protocol=mqtt.MQTTv5)
            client.on_connect = lambda c, u, f, reason, p: c.subscribe(topic, qos=1)
            client.on_subscribe = lambda *args: self._subscribed.release()
            client.on_message = self._handler(i)
            self._clients.append(client)

    def _handler(self, index: int):  # noqa: ANN202
        def on_message(client, userdata, msg) -> None:  # noqa: ANN001
            self.received.append((msg.payload, time.monotonic(), index))
        return on_message

    def __enter__(self) -> "Consumers":
        for client in self._clients:
            client.connect(self._broker.host, self._broker.port)
            client.loop_start()
        for _ in self._clients:
            if not self._subscribed.acquire(timeout=5):
                raise RuntimeError(f"consumer could not subscribe to {self._topic}")
        return self

    def __exit__(self, *exc: object) -> None:
        for client in self._clients:
            client.disconnect()
            client.loop_stop()

    def first_seen(self) -> dict[str, float]:
        """Alert id -> time of its first receipt (parses what arrived since the last call)."""
        end = len(self.received)
        for payload, at, _ in self.received[self._parsed:end]:
            self._first.setdefault(json.loads(payload)["id"], at)
        self._parsed = end
        return self._first

    def per_consumer(self) -> list[int]:
        counts = [0] * len(self._clients)
        for _, _, index in self.received:
            counts[index] += 1
        return counts


def open_sink(options: dict, device: str, outbox: Outbox) -> MqttSink:
    """An open MqttSink for ``device``; ``options`` holds ``url`` and any other MqttConfig field."""
    options = dict(options)
    sink = MqttSink(MqttConfig.from_url(options.pop("url"), device_id=device, **options), outbox)
    sink.open()
    return sink
