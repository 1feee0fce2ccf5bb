"""MQTT alert sink on paho-mqtt 2.x, with a durable outbox in front of it.

Topics (``<prefix>`` defaults to ``edgewatch``):

    <prefix>/<device>/alerts        one ``Alert.to_json()`` per alert, QoS 1
    <prefix>/<device>/availability  retained ``online`` after every CONNACK,
                                    retained ``offline`` on close and as the LWT

Delivery: ``publish`` writes the alert to the outbox (SQLite, on disk) and
returns. A sender thread hands rows to paho, oldest first, at most
``inflight`` at a time and only while connected, and deletes each row when its
PUBACK arrives. Rows left by a killed or disconnected run are sent first by
the next one. paho resends in-flight messages after it reconnects by itself.

Threads: ``open``/``publish``/``close`` run on the caller's thread; the sender
thread owns the in-flight map; paho's loop thread runs the ``_on_*``
callbacks, which only set events and enqueue acknowledgements (paho holds its
own lock there, so they must not call back into paho or take our locks).
"""

from __future__ import annotations

import enum
import json
import logging
import queue
import ssl
import threading
import time
from pathlib import Path
from typing import Any, Callable

from edge.alerts import Alert
from edge.errors import BrokerError, MissingDependencyError, SinkError
from edge.outbox import Outbox
from edge.sinks.base import DeliveryReport
from edge.sinks.homeassistant import discovery_messages
from edge.sinks.mqtt_config import MqttConfig
from edge.sinks.mqtt_errors import describe_os_error, describe_refusal, describe_tls_error

__all__ = ["MqttConfig", "MqttSink"]

log = logging.getLogger(__name__)

class _State(enum.Enum):
    NEW = "new"
    OPEN = "open"
    CLOSED = "closed"


def _paho() -> Any:
    try:
        import paho.mqtt.client as mqtt_client
    except ImportError as exc:
        raise MissingDependencyError("the MQTT sink needs paho-mqtt: pip install 'paho-mqtt>=2'") from exc
    return mqtt_client


class MqttSink:
    """Publishes alerts through a durable outbox; see the module docstring.

    Args:
        config: where and how to connect.
        outbox: where unacknowledged alerts wait; an in-memory one when None
            (nothing then survives the process).
    """

    name = "mqtt"

    def __init__(self, config: MqttConfig, outbox: Outbox | None = None) -> None:
        self.config = config
        self.outbox = outbox or Outbox(Path(":memory:"))
        self.client_id = config.client_id or f"edgewatch-{config.device_id}"
        self.alert_topic = config.topic("alerts")
        self.availability_topic = config.topic("availability")
        self.status_topic = config.topic("status")
        self.reply_topic = config.topic("reply")
        self.command_filter = config.topic("cmd/+")
        self.command_handler: Callable[[str, bytes], None] | None = None  # called on paho's thread
        self._last_status: str | None = None
        self.last_report: DeliveryReport | None = None
        self._state = _State.NEW
        self._client: Any = None
        self._lock = threading.Lock()  # guards the counters; never held while calling paho
        self._acks: queue.SimpleQueue[tuple[int, bool, str]] = queue.SimpleQueue()
        self._inflight: dict[int, int] = {}  # paho mid -> outbox row id (sender thread only)
        self._last_sent = 0  # highest outbox row id handed to paho
        self._accepted = self._delivered = self._rejected = 0
        self._replayed = self.outbox.depth
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._sender: threading.Thread | None = None
        self._connack = threading.Event()
        self._connected = threading.Event()
        self._refusal: Any = None
        self._closed_early: Any = None  # disconnect before any CONNACK
        self._connects = 0

    @property
    def connected(self) -> bool:
        """True while the broker has accepted our connection."""
        return self._connected.is_set()

    @property
    def connects(self) -> int:
        """How many CONNACKs accepted us so far (1 + reconnects)."""
        return self._connects

    def open(self) -> None:
        """Connect, wait for the broker's CONNACK, and start sending what the outbox holds.

        Raises:
            BrokerError: the broker is unreachable, too slow, or refused us.
            SinkError: the sink was already opened.
        """
        if self._state is not _State.NEW:
            raise SinkError(f"MQTT sink is {self._state.value}; create a new one")
        cfg = self.config
        deadline = time.monotonic() + cfg.connect_timeout
        self._client = client = self._make_client()
        try:
            client.connect(cfg.host, cfg.port, keepalive=cfg.keepalive)
        except ssl.SSLError as exc:
            raise BrokerError(describe_tls_error(exc, cfg)) from exc
        except OSError as exc:
            raise BrokerError(describe_os_error(exc, cfg)) from exc
        client.loop_start()
        if not self._connack.wait(max(0.0, deadline - time.monotonic())):
            self._shutdown()
            raise BrokerError(
                f"no CONNACK from {cfg.address} within {cfg.connect_timeout:g}s: is it an MQTT broker? check --mqtt"
            )
        if self._refusal is not None:
            self._shutdown()
            raise BrokerError(describe_refusal(self._refusal, cfg))
        if self._closed_early is not None:
            self._shutdown()
            hint = "; it may require a client certificate (cert_file/key_file)" if cfg.tls else ""
            raise BrokerError(f"MQTT broker at {cfg.address} closed the connection before accepting it "
                              f"({self._closed_early}){hint}")
        self._state = _State.OPEN
        self._sender = threading.Thread(target=self._send_loop, name="edgewatch-mqtt-sender", daemon=True)
        self._sender.start()
        log.info("MQTT sink connected to %s as %s (%d alerts waiting in the outbox)",
                 cfg.address, self.client_id, self._replayed)

    def _make_client(self) -> Any:
        mqtt = _paho()
        cfg = self.config
        protocol = mqtt.MQTTv5 if cfg.protocol == "5" else mqtt.MQTTv311
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=protocol)
        if cfg.username is not None:
            client.username_pw_set(cfg.username, cfg.password)
        if cfg.tls:
            self._set_tls(client)
        client.connect_timeout = cfg.connect_timeout
        client.max_inflight_messages_set(cfg.inflight + 2)  # + availability messages
        client.reconnect_delay_set(min_delay=0.5, max_delay=10)  # type: ignore[arg-type]
        client.will_set(self.availability_topic, "offline", qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        return client

    def _set_tls(self, client: Any) -> None:
        cfg = self.config
        try:
            client.tls_set(ca_certs=cfg.ca_file, certfile=cfg.cert_file, keyfile=cfg.key_file,
                           cert_reqs=ssl.CERT_REQUIRED)
        except (ssl.SSLError, OSError, ValueError) as exc:
            raise BrokerError(f"cannot set up TLS for {cfg.address}: {exc}; check the CA, certificate and key files") from exc
        if cfg.insecure:
            client.tls_insecure_set(True)
            log.warning("INSECURE: the MQTT broker's host name is NOT verified (--insecure); "
                        "anyone holding a certificate from that CA can pose as %s", cfg.address)

    def _shutdown(self) -> None:
        """Disconnect and stop paho's loop, swallowing its errors."""
        self._state = _State.CLOSED
        try:
            self._client.disconnect()
            self._client.loop_stop()
        except Exception:  # noqa: BLE001 - cleanup after an error we are already reporting
            log.debug("error while stopping the MQTT client", exc_info=True)

    # -- paho callbacks: paho's loop thread -----------------------------------

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        """CONNACK received: publish ``online`` or remember the refusal."""
        if reason.is_failure:
            if not self._connack.is_set():
                self._refusal = reason  # open() raises it
            else:
                log.warning("MQTT broker at %s refused to reconnect us: %s", self.config.address, reason)
        else:
            with self._lock:
                self._connects += 1
            self._connected.set()
            client.publish(self.availability_topic, "online", qos=1, retain=True)
            self._announce(client)
            if self._connects > 1:
                log.info("MQTT sink reconnected to %s", self.config.address)
            self._wake.set()
        self._connack.set()

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        """Connection lost or closed; paho reconnects by itself."""
        was_connected = self._connected.is_set()
        self._connected.clear()
        if not self._connack.is_set():
            self._closed_early = reason
            self._connack.set()
        if was_connected and self._state is _State.OPEN:
            log.warning("MQTT connection to %s lost (%s); paho will reconnect", self.config.address, reason)

    def _announce(self, client: Any) -> None:
        """After every CONNACK: listen for commands, re-publish discovery and the last status."""
        client.subscribe(self.command_filter, qos=1)
        if self.config.homeassistant:
            for topic, payload in discovery_messages(self.config.device_id, self.status_topic,
                                                     self.availability_topic, self.config.discovery_prefix):
                client.publish(topic, payload, qos=1, retain=True)
        if self._last_status is not None:
            client.publish(self.status_topic, self._last_status, qos=1, retain=True)

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        """A command arrived: hand it to the handler, which only queues it."""
        name = message.topic.rsplit("/", 1)[-1]
        if self.command_handler is not None:
            try:
                self.command_handler(name, bytes(message.payload))
            except Exception:  # noqa: BLE001 - a bad command must never kill paho's thread
                log.exception("command handler failed on %s", message.topic)

    def _on_publish(self, client: Any, userdata: Any, mid: int, reason: Any, properties: Any) -> None:
        """PUBACK received (paho's message lock held): only enqueue it."""
        self._acks.put((mid, bool(reason.is_failure), str(reason)))
        self._wake.set()

    # -- sender thread ----------------------------------------------------------

    def _send_loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(1.0)  # set by publish, PUBACK, CONNACK and close
            self._wake.clear()
            try:
                self._settle_acks()
                self._hand_over()
            except SinkError:
                log.exception("MQTT sender: outbox error; retrying")
                time.sleep(0.5)

    def _settle_acks(self) -> None:
        """Delete acknowledged rows from the outbox, all that arrived so far in one transaction."""
        settled, rejected = [], 0
        while True:
            try:
                mid, failed, reason = self._acks.get_nowait()
            except queue.Empty:
                break
            row_id = self._inflight.pop(mid, None)
            if row_id is None:
                continue  # an availability, status or reply message
            settled.append(row_id)
            if failed:
                rejected += 1
                log.warning("MQTT broker rejected an alert: %s", reason)
        self.outbox.delete(*settled)
        with self._lock:
            self._rejected += rejected
            self._delivered += len(settled) - rejected

    def _hand_over(self) -> None:
        """Give paho the next rows, oldest first, while connected and under the in-flight bound."""
        room = self.config.inflight - len(self._inflight)
        if room <= 0 or not self.connected:
            return
        for row in self.outbox.pending(after_id=self._last_sent, limit=room):
            try:
                info = self._client.publish(row.topic, row.payload, qos=row.qos)
            except ValueError as exc:
                log.error("MQTT rejected outbox row %d (%s); dropping it", row.id, exc)
                self.outbox.delete(row.id)
                continue
            self._inflight[info.mid] = row.id
            self._last_sent = row.id

    # -- caller's thread ------------------------------------------------------

    def publish(self, alert: Alert) -> None:
        """Store ``alert`` in the outbox (durably) and wake the sender; never waits for the broker.

        Raises:
            SinkError: the sink is not open, or the outbox cannot be written.
        """
        if self._state is not _State.OPEN:
            raise SinkError(f"MQTT sink is {self._state.value}; open it before publishing")
        self.outbox.put(self.alert_topic, alert.to_json().encode(), self.config.qos)
        with self._lock:
            self._accepted += 1
        self._wake.set()

    def publish_status(self, status: dict) -> None:
        """Retained status with the outbox figures; sent now if connected, else on the next connect."""
        payload = json.dumps({**status, "outbox_depth": self.outbox.depth, "outbox_dropped": self.outbox.dropped,
                              "connected": self.connected, "reconnects": max(0, self._connects - 1)})
        self._last_status = payload
        if self.connected and self._state is _State.OPEN:
            self._client.publish(self.status_topic, payload, qos=1, retain=True)

    def publish_reply(self, reply: dict) -> None:
        """Answer a command on ``<prefix>/<device>/reply`` (dropped while disconnected)."""
        if self.connected and self._state is _State.OPEN:
            self._client.publish(self.reply_topic, json.dumps(reply), qos=1)

    def outstanding(self) -> int:
        """Alerts stored but not yet acknowledged by the broker (this run's and earlier runs')."""
        return self.outbox.depth

    def close(self, timeout: float = 10.0) -> DeliveryReport:
        """Wait up to ``timeout`` s for the outbox to drain, publish ``offline``, disconnect.

        What is still unacknowledged stays in the outbox for the next run.

        Returns:
            Alerts accepted this run plus those replayed from disk, how many the
            broker acknowledged, and how many remain on disk.
        """
        if self._state is _State.CLOSED:
            return self.last_report or DeliveryReport(0, 0, 0)
        deadline = time.monotonic() + timeout
        if self._state is _State.OPEN:
            while self.outbox.depth and time.monotonic() < deadline:
                time.sleep(0.02)
            self._stopping.set()
            self._wake.set()
            if self._sender is not None:
                self._sender.join(timeout=2.0)
            self._settle_acks()
            self._say_offline(deadline)
            self._shutdown()
        self._state = _State.CLOSED
        if not self.outbox.wait_durable():
            log.warning("the alert outbox %s could not be flushed to the disk", self.outbox.path)
        remaining = self.outbox.depth
        with self._lock:
            report = DeliveryReport(self._accepted + self._replayed, self._delivered, remaining)
        if remaining:
            log.warning("MQTT sink closed with %d alert(s) unacknowledged; they stay in the outbox %s",
                        remaining, self.outbox.path)
        self.last_report = report
        return report

    def _say_offline(self, deadline: float) -> None:
        """Publish retained ``offline`` and wait briefly for its PUBACK, if connected."""
        if not self.connected:
            return
        info = self._client.publish(self.availability_topic, "offline", qos=1, retain=True)
        try:
            info.wait_for_publish(max(0.0, min(2.0, deadline - time.monotonic())))
        except (RuntimeError, ValueError):
            log.debug("could not publish offline before disconnecting", exc_info=True)

    def __enter__(self) -> "MqttSink":
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"MqttSink({self.config.address}, {self.alert_topic!r}, {self._state.value})"
