"""MQTT alert sink on paho-mqtt 2.x.

Topics (``<prefix>`` defaults to ``edgewatch``):

    <prefix>/<device>/alerts        one ``Alert.to_json()`` per alert, QoS 1
    <prefix>/<device>/availability  retained ``online`` after every CONNACK,
                                    retained ``offline`` on close and as the LWT

Threads: ``open``/``publish``/``close`` are called by the pipeline's worker
thread; paho's network loop runs on its own thread (``loop_start``) and runs
the ``_on_*`` callbacks, which only set events, log, and put acknowledgements
on a queue that the worker drains.

Delivery: paho keeps every QoS 1 message in memory until its PUBACK and
re-sends it after reconnecting by itself, so an alert published during a short
broker outage is delivered once the broker is back. Nothing is written to
disk: alerts still unacknowledged when ``close`` times out (or the process
dies) are lost and reported as ``undelivered``.
"""

from __future__ import annotations

import enum
import logging
import queue
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from edge.alerts import Alert
from edge.errors import BrokerError, ConfigError, MissingDependencyError, SinkError
from edge.sinks.base import DeliveryReport

__all__ = ["MqttConfig", "MqttSink"]

log = logging.getLogger(__name__)

PROTOCOLS = ("5", "3.1.1")
_AUTH_REASONS = {134, 135}  # Bad user name or password / Not authorized (paho maps MQTT 3 codes 4, 5 here)
_TOPIC_FORBIDDEN = set("+#/\0")


@dataclass(frozen=True)
class MqttConfig:
    """Where and how the MQTT sink connects.

    Attributes:
        host: broker host name or IP address.
        port: broker TCP port.
        device_id: the device's id; one topic level, so no ``/``, ``+`` or ``#``.
        topic_prefix: first topic level(s), e.g. ``edgewatch`` or ``site1/edgewatch``.
        client_id: MQTT client id; ``edgewatch-<device_id>`` when None.
        qos: QoS of alert messages (0, 1 or 2).
        keepalive: seconds between keepalive pings.
        connect_timeout: seconds ``open`` waits for the TCP connection and the CONNACK.
        username: optional user name.
        password: optional password; never logged and left out of ``repr``.
        protocol: ``"5"`` (default) or ``"3.1.1"``.
        max_queued: most messages paho keeps in memory (in flight or waiting);
            0 means unlimited. Alerts beyond it are dropped and counted.
    """

    host: str
    port: int = 1883
    device_id: str = "edge"
    topic_prefix: str = "edgewatch"
    client_id: str | None = None
    qos: int = 1
    keepalive: int = 30
    connect_timeout: float = 10.0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    protocol: str = "5"
    max_queued: int = 100_000

    def __post_init__(self) -> None:
        if not self.host:
            raise ConfigError("MQTT host is empty: pass --mqtt mqtt://HOST:PORT")
        if not 0 < self.port < 65536:
            raise ConfigError(f"MQTT port {self.port} is out of range 1-65535")
        if not self.device_id or _TOPIC_FORBIDDEN & set(self.device_id):
            raise ConfigError(f"device id {self.device_id!r} must be non-empty without '/', '+', '#'")
        if not self.topic_prefix or set("+#\0") & set(self.topic_prefix):
            raise ConfigError(f"topic prefix {self.topic_prefix!r} must be non-empty without '+', '#'")
        if self.qos not in (0, 1, 2):
            raise ConfigError(f"MQTT qos must be 0, 1 or 2, not {self.qos!r}")
        if self.protocol not in PROTOCOLS:
            raise ConfigError(f"MQTT protocol must be one of {', '.join(PROTOCOLS)}, not {self.protocol!r}")
        if self.connect_timeout <= 0 or self.keepalive <= 0 or self.max_queued < 0:
            raise ConfigError("MQTT connect_timeout and keepalive must be > 0, max_queued >= 0")

    @classmethod
    def from_url(cls, url: str, device_id: str, **options: Any) -> "MqttConfig":
        """Build a config from ``mqtt://[user[:password]@]host[:port]``.

        Args:
            url: the broker URL; only the ``mqtt://`` scheme is supported.
            device_id: the device's id.
            **options: any other field; ``username``/``password`` override the URL's.

        Raises:
            ConfigError: the URL is malformed or uses another scheme.
        """
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise ConfigError(f"bad MQTT URL {url!r}: {exc}; expected mqtt://HOST:PORT") from None
        if parts.scheme != "mqtt":
            raise ConfigError(f"bad MQTT URL {url!r}: scheme must be mqtt:// (mqtts:// is not supported yet)")
        if not parts.hostname or parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ConfigError(f"bad MQTT URL {url!r}: expected mqtt://HOST:PORT")
        creds = {}
        if parts.username is not None:
            creds["username"] = unquote(parts.username)
        if parts.password is not None:
            creds["password"] = unquote(parts.password)
        return cls(host=parts.hostname, port=port or 1883, device_id=device_id, **{**creds, **options})

    @property
    def address(self) -> str:
        """``host:port`` for messages (never includes credentials)."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def topic(self, leaf: str) -> str:
        """The topic ``<prefix>/<device>/<leaf>``."""
        return f"{self.topic_prefix.rstrip('/')}/{self.device_id}/{leaf}"


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


def _describe_os_error(exc: OSError, cfg: MqttConfig) -> str:
    """One line for a failed TCP connect, with the likely fix."""
    where = cfg.address
    if isinstance(exc, ConnectionRefusedError):
        return f"connection refused: is the broker running at {where}? start mosquitto or pass --mqtt"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return f"timed out after {cfg.connect_timeout:g}s connecting to {where}: check the host, port and firewall"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve MQTT host {cfg.host!r}: check --mqtt"
    reason = exc.strerror or str(exc) or type(exc).__name__
    return f"cannot connect to MQTT broker at {where}: {reason}"


def _describe_refusal(reason: Any, cfg: MqttConfig) -> str:
    """One line for a CONNACK that refused us."""
    if getattr(reason, "value", None) in _AUTH_REASONS:
        return f"MQTT broker at {cfg.address} refused the connection: not authorized: check username/password ({reason})"
    return f"MQTT broker at {cfg.address} refused the connection: {reason}"


class MqttSink:
    """Publishes alerts to an MQTT broker; see the module docstring for topics and threads.

    Args:
        config: where and how to connect.
    """

    name = "mqtt"

    def __init__(self, config: MqttConfig) -> None:
        self.config = config
        self.client_id = config.client_id or f"edgewatch-{config.device_id}"
        self.alert_topic = config.topic("alerts")
        self.availability_topic = config.topic("availability")
        self.last_report: DeliveryReport | None = None
        self._state = _State.NEW
        self._client: Any = None
        self._lock = threading.Lock()  # guards the counters below; never held while calling paho
        self._acks: queue.SimpleQueue[tuple[int, bool, str]] = queue.SimpleQueue()
        self._pending: set[int] = set()
        self._accepted = self._delivered = self._rejected = self._dropped = 0
        self._connack = threading.Event()
        self._connected = threading.Event()
        self._refusal: Any = None
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
        """Connect and wait for the broker's CONNACK.

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
        except OSError as exc:
            raise BrokerError(_describe_os_error(exc, cfg)) from exc
        client.loop_start()
        if not self._connack.wait(max(0.0, deadline - time.monotonic())):
            self._shutdown()
            raise BrokerError(
                f"no CONNACK from {cfg.address} within {cfg.connect_timeout:g}s: is it an MQTT broker? check --mqtt"
            )
        if self._refusal is not None:
            self._shutdown()
            raise BrokerError(_describe_refusal(self._refusal, cfg))
        self._state = _State.OPEN
        log.info("MQTT sink connected to %s as %s", cfg.address, self.client_id)

    def _make_client(self) -> Any:
        mqtt = _paho()
        cfg = self.config
        protocol = mqtt.MQTTv5 if cfg.protocol == "5" else mqtt.MQTTv311
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=protocol,
        )
        if cfg.username is not None:
            client.username_pw_set(cfg.username, cfg.password)
        client.connect_timeout = cfg.connect_timeout
        client.max_queued_messages_set(cfg.max_queued)
        client.reconnect_delay_set(min_delay=0.5, max_delay=10)  # type: ignore[arg-type]
        client.will_set(self.availability_topic, "offline", qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        return client

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
        """CONNACK received (loop thread): publish ``online`` or remember the refusal."""
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
            if self._connects > 1:
                log.info("MQTT sink reconnected to %s", self.config.address)
        self._connack.set()

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        """Connection lost or closed (loop thread); paho reconnects by itself."""
        was_connected = self._connected.is_set()
        self._connected.clear()
        if was_connected and self._state is _State.OPEN:
            log.warning("MQTT connection to %s lost (%s); paho will reconnect", self.config.address, reason)

    def _on_publish(self, client: Any, userdata: Any, mid: int, reason: Any, properties: Any) -> None:
        """PUBACK received (loop thread, paho's message lock held): only enqueue it."""
        self._acks.put((mid, bool(reason.is_failure), str(reason)))

    # -- worker thread ----------------------------------------------------------

    def publish(self, alert: Alert) -> None:
        """Queue ``alert`` for delivery; returns without waiting for the broker.

        Raises:
            SinkError: the sink is not open, or paho rejected the message.
        """
        if self._state is not _State.OPEN:
            raise SinkError(f"MQTT sink is {self._state.value}; open it before publishing")
        mqtt = _paho()
        try:
            info = self._client.publish(self.alert_topic, alert.to_json(), qos=self.config.qos)
        except ValueError as exc:
            raise SinkError(f"MQTT rejected alert {alert.id}: {exc}") from exc
        with self._lock:
            self._accepted += 1
            if info.rc == mqtt.MQTT_ERR_QUEUE_SIZE:
                self._dropped += 1
                log.warning("MQTT queue full (%d): alert %s dropped", self.config.max_queued, alert.id)
            elif self.config.qos == 0 and info.rc == mqtt.MQTT_ERR_SUCCESS:
                self._delivered += 1
            else:
                self._pending.add(info.mid)  # MQTT_ERR_NO_CONN: paho sends it after reconnecting
        self._drain_acks(0.0)

    def _drain_acks(self, timeout: float) -> None:
        """Match queued PUBACKs with pending alerts, waiting up to ``timeout`` for the first."""
        try:
            item = self._acks.get(timeout=timeout) if timeout > 0 else self._acks.get_nowait()
        except queue.Empty:
            return
        while True:
            mid, failed, reason = item
            with self._lock:
                if mid in self._pending:  # other mids are availability messages
                    self._pending.discard(mid)
                    if failed:
                        self._rejected += 1
                        log.warning("MQTT broker rejected an alert: %s", reason)
                    else:
                        self._delivered += 1
            try:
                item = self._acks.get_nowait()
            except queue.Empty:
                return

    def outstanding(self) -> int:
        """Alerts accepted but not yet acknowledged by the broker."""
        self._drain_acks(0.0)
        with self._lock:
            return len(self._pending)

    def close(self, timeout: float = 10.0) -> DeliveryReport:
        """Wait up to ``timeout`` s for outstanding PUBACKs, publish ``offline``, disconnect.

        Stopping paho's loop may add up to 1 s when the broker is unreachable.

        Returns:
            What happened to the alerts accepted since ``open``.
        """
        if self._state is _State.CLOSED:
            return self.last_report or DeliveryReport(0, 0, 0)
        deadline = time.monotonic() + timeout
        if self._state is _State.OPEN:
            while self.outstanding() and time.monotonic() < deadline:
                self._drain_acks(min(0.1, max(0.0, deadline - time.monotonic())))
            self._say_offline(deadline)
            self._shutdown()
        self._state = _State.CLOSED
        with self._lock:
            report = DeliveryReport(self._accepted, self._delivered, self._accepted - self._delivered)
        if not report.complete:
            log.warning(
                "MQTT sink closed with %d of %d alerts undelivered (%d still unacknowledged, %d rejected, %d dropped)",
                report.undelivered, report.accepted, len(self._pending), self._rejected, self._dropped,
            )
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
