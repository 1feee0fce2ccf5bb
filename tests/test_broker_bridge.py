"""A device's Mosquitto bridged to a central one: alerts are stored and forwarded while the uplink is down.

Broker A is the device's local broker, bridged with ``edgewatch.broker.bridge_conf`` (the snippet in
``docs/fleet.md``); broker B stands in for the central cluster. ``MqttSink`` publishes to A; a
persistent collector on B receives. The sink's outbox is empty as soon as A has acknowledged an alert,
so whatever reaches B after an outage was kept by A's bridge queue, not by the sink.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Iterator

import pytest

from edge.alerts import Alert
from edge.outbox import Outbox
from edge.sinks import MqttConfig, MqttSink
from edgewatch.broker import LocalBroker, bridge_conf
from edgewatch.subscriber import MqttCollector
from test_mqtt_sink import make_alert, unused_port, wait_until

DEVICE = "pump-1"
ALERTS = f"edgewatch/{DEVICE}/alerts"
UPLINK_STATE = f"edgewatch/{DEVICE}/bridge/state"
DOC = Path(__file__).resolve().parents[1] / "docs" / "fleet.md"


@contextlib.contextmanager
def bridged(central: LocalBroker, **options: object) -> Iterator[LocalBroker]:
    """Broker A with persistence, bridged to ``central``, retrying the uplink every 1-2 s."""
    conf = bridge_conf(central.host, central.port, device_id=DEVICE, restart_timeout="1 2", **options)
    with LocalBroker(persistence=True, extra_conf=conf) as local:
        yield local


def sink_for(local: LocalBroker, tmp_path: Path) -> MqttSink:
    config = MqttConfig.from_url(local.url, device_id=DEVICE, connect_timeout=3.0, homeassistant=False)
    return MqttSink(config, Outbox(tmp_path / "outbox.sqlite"))


def publish_all(sink: MqttSink, first: int, count: int) -> list[Alert]:
    alerts = [make_alert(i, DEVICE) for i in range(first, first + count)]
    for alert in alerts:
        sink.publish(alert)
    assert wait_until(lambda: sink.outstanding() == 0), "broker A did not acknowledge the alerts"
    return alerts


def first_seen_ids(collector: MqttCollector) -> list[str]:
    return list(dict.fromkeys(Alert.from_json(m.payload).id for m in collector.messages))


def retained(central: LocalBroker, topic: str) -> str:
    with MqttCollector(central, topic) as collector:
        return collector.wait_for(1)[0].text


def test_alerts_published_while_the_central_broker_is_down_arrive_when_it_returns(tmp_path):
    with LocalBroker(persistence=True) as central, bridged(central) as local, \
            MqttCollector(central, ALERTS, persistent=True) as collector, \
            MqttCollector(central, UPLINK_STATE, persistent=True) as uplink_state:
        with sink_for(local, tmp_path) as sink:
            before = publish_all(sink, 0, 5)
            collector.wait_for(5, timeout=10)
            assert retained(central, UPLINK_STATE) == "1"  # the bridge announces itself
            central.stop()
            during = publish_all(sink, 5, 20)  # A acknowledged them: the sink's outbox is empty
            seen = len(uplink_state.messages)
            central.start()
            collector.wait_for(25, timeout=15)
            time.sleep(0.3)
            states = [m.text for m in uplink_state.messages[seen:]]
            # up again: no stale "0", queued locally during the outage, comes after the bridge's "1"
            assert "1" in states and "0" not in states[states.index("1"):], states
            assert retained(central, UPLINK_STATE) == "1"
        assert sink.last_report.delivered == 25 and sink.last_report.undelivered == 0
    assert first_seen_ids(collector) == [a.id for a in before + during]  # nothing lost, order kept


def test_the_bridge_queue_survives_a_restart_of_the_devices_broker(tmp_path):
    with LocalBroker(persistence=True) as central, bridged(central) as local, \
            MqttCollector(central, ALERTS, persistent=True) as collector:
        with sink_for(local, tmp_path) as sink:
            publish_all(sink, 0, 1)
            collector.wait_for(1, timeout=10)
            central.stop()
            queued = publish_all(sink, 1, 10)
        local.stop()  # SIGTERM: Mosquitto writes the queue to its persistence file
        local.start()
        central.start()
        collector.wait_for(11, timeout=15)
    assert first_seen_ids(collector)[1:] == [a.id for a in queued]


def test_with_cleansession_true_an_uplink_outage_loses_alerts(tmp_path):
    """Why the snippet says ``cleansession false``: without it the bridge queue is thrown away."""
    with LocalBroker(persistence=True) as central, bridged(central, cleansession=True) as local, \
            MqttCollector(central, ALERTS, persistent=True) as collector:
        with sink_for(local, tmp_path) as sink:
            publish_all(sink, 0, 1)
            collector.wait_for(1, timeout=10)
            central.stop()
            lost = publish_all(sink, 1, 10)
            central.start()
            markers: set[str] = set()  # published until one gets through the reconnected bridge
            deadline = time.monotonic() + 15
            while not markers & set(first_seen_ids(collector)) and time.monotonic() < deadline:
                marker = make_alert(100 + len(markers), DEVICE)
                markers.add(marker.id)
                sink.publish(marker)
                time.sleep(0.2)
            assert markers & set(first_seen_ids(collector)), "the bridge did not reconnect"
    assert not {a.id for a in lost} & set(first_seen_ids(collector))


class Uplink:
    """A TCP relay standing in for the device's uplink: the bridge dials it, it dials the central broker.

    ``cut()`` drops every connection and refuses new ones while the central broker stays up;
    ``restore()`` listens again on the same port.
    """

    def __init__(self, central: LocalBroker) -> None:
        self.host, self.port, self._central = "127.0.0.1", unused_port(), central
        self._server: socket.socket | None = None
        self._conns: list[socket.socket] = []

    def restore(self) -> "Uplink":
        self._server = socket.create_server((self.host, self.port))
        threading.Thread(target=self._accept, args=(self._server,), daemon=True).start()
        return self

    def cut(self) -> None:
        assert self._server is not None
        for sock in [self._server, *self._conns]:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self._conns.clear()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                device_side, _ = server.accept()
            except OSError:
                return
            central_side = socket.create_connection((self._central.host, self._central.port))
            self._conns += [device_side, central_side]
            for src, dst in ((device_side, central_side), (central_side, device_side)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)


def central_publish(central: LocalBroker, topic: str, payload: bytes) -> None:
    import paho.mqtt.publish as publish

    publish.single(topic, payload, qos=1, hostname=central.host, port=central.port)


def test_across_an_uplink_cut_alerts_go_out_and_commands_come_in(tmp_path):
    """The link drops while both brokers stay up: each side queues for the other's session."""
    commands: list[tuple[str, bytes]] = []
    with LocalBroker(persistence=True) as central, MqttCollector(central, ALERTS, persistent=True) as collector:
        uplink = Uplink(central).restore()
        conf = bridge_conf(uplink.host, uplink.port, device_id=DEVICE, restart_timeout="1 2")
        with LocalBroker(persistence=True, extra_conf=conf) as local:
            sink = sink_for(local, tmp_path)
            sink.command_handler = lambda name, payload: commands.append((name, payload))
            with sink:
                before = publish_all(sink, 0, 2)
                collector.wait_for(2, timeout=10)  # the bridge is up and subscribed centrally
                central_publish(central, f"edgewatch/{DEVICE}/cmd/status", b"{}")
                assert wait_until(lambda: len(commands) == 1)
                uplink.cut()
                during = publish_all(sink, 2, 10)
                central_publish(central, f"edgewatch/{DEVICE}/cmd/threshold", b'{"value": 0.7}')
                uplink.restore()
                collector.wait_for(12, timeout=15)
                assert wait_until(lambda: len(commands) == 2, timeout=10)
    assert first_seen_ids(collector) == [a.id for a in before + during]
    assert commands == [("status", b"{}"), ("threshold", b'{"value": 0.7}')]


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    from certs import make_certificates

    return make_certificates(tmp_path_factory.mktemp("bridge-certs"))


def test_the_bridge_uplink_over_tls_with_the_devices_certificate(tmp_path, certs):
    plain = unused_port()  # B also listens in plain TCP on a second port, for the collector
    with LocalBroker(tls=(certs.ca, certs.server_cert, certs.server_key), require_certificate=True,
                     extra_conf=[f"listener {plain} 127.0.0.1"]) as central, \
            bridged(central, tls=(certs.ca, certs.client_cert, certs.client_key)) as local, \
            MqttCollector(SimpleNamespace(host=central.host, port=plain, url=f"mqtt://127.0.0.1:{plain}"),
                          ALERTS) as collector:
        with sink_for(local, tmp_path) as sink:
            sent = publish_all(sink, 0, 3)
            collector.wait_for(3, timeout=10)
    assert first_seen_ids(collector) == [a.id for a in sent]


def test_docs_show_the_tested_bridge_configuration():
    text = DOC.read_text()
    block = "\n".join(bridge_conf("central.example.net", 8883, device_id="pump-1",
                                  tls=(Path("/etc/edgewatch/ca.crt"), Path("/etc/edgewatch/pump-1.crt"),
                                       Path("/etc/edgewatch/pump-1.key"))))
    assert block in text, "docs/fleet.md must show bridge_conf()'s lines verbatim"
    for line in ("persistence true", "autosave_interval"):
        assert re.search(rf"^{line}", text, re.M), f"docs/fleet.md must show {line!r}"
    assert text.count("```") % 2 == 0  # fenced blocks are closed
