"""A short-lived MQTT client with the sink's TLS and credentials: for checks and one-off commands.

``edgewatch doctor`` and ``edgewatch update`` connect with the same
``MqttConfig`` as ``edge-infer`` but under their own client id (never the
device's, which would push the running service off the broker), without a
last will, and without announcing anything.
"""

from __future__ import annotations

import ssl
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from edge.errors import BrokerError, MissingDependencyError
from edge.sinks.mqtt_config import MqttConfig
from edge.sinks.mqtt_errors import describe_os_error, describe_refusal, describe_tls_error

__all__ = ["ShortClient", "Received"]


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes


@dataclass
class _Events:
    connack: threading.Event = field(default_factory=threading.Event)
    subscribed: threading.Event = field(default_factory=threading.Event)
    refusal: Any = None
    closed_early: Any = None
    granted: list = field(default_factory=list)


class ShortClient:
    """Connect, optionally subscribe, publish, collect messages, disconnect (a context manager).

    Callbacks run on paho's thread and only record; ``messages`` is read under a lock.
    """

    def __init__(self, config: MqttConfig, role: str = "tool") -> None:
        self.config = config
        self.client_id = f"edgewatch-{role}-{uuid.uuid4().hex[:10]}"
        self._events = _Events()
        self._lock = threading.Condition()
        self._messages: list[Received] = []
        self._client: Any = None

    def __enter__(self) -> "ShortClient":
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def connect(self) -> None:
        """Connect and wait for the CONNACK.

        Raises:
            BrokerError: unreachable, TLS failure, refused, or no CONNACK in time; one line with the fix.
        """
        try:
            import paho.mqtt.client as mqtt
        except ImportError as exc:
            raise MissingDependencyError("MQTT needs paho-mqtt: pip install 'paho-mqtt>=2'") from exc
        cfg = self.config
        protocol = mqtt.MQTTv5 if cfg.protocol == "5" else mqtt.MQTTv311
        client = self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id,
                                            protocol=protocol)
        if cfg.username is not None:
            client.username_pw_set(cfg.username, cfg.password)
        if cfg.tls:
            try:
                client.tls_set(ca_certs=cfg.ca_file, certfile=cfg.cert_file, keyfile=cfg.key_file,
                               cert_reqs=ssl.CERT_REQUIRED)
            except (ssl.SSLError, OSError, ValueError) as exc:
                raise BrokerError(f"cannot set up TLS for {cfg.address}: {exc}; check the CA, certificate and key") from exc
            client.tls_insecure_set(cfg.insecure)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        try:
            client.connect(cfg.host, cfg.port, keepalive=cfg.keepalive)
        except ssl.SSLError as exc:
            raise BrokerError(describe_tls_error(exc, cfg)) from exc
        except OSError as exc:
            raise BrokerError(describe_os_error(exc, cfg)) from exc
        client.loop_start()
        if not self._events.connack.wait(cfg.connect_timeout):
            self.close()
            raise BrokerError(f"no CONNACK from {cfg.address} within {cfg.connect_timeout:g}s "
                              "(a TLS listener needs a client certificate, or this is not an MQTT broker)")
        if self._events.refusal is not None:
            self.close()
            raise BrokerError(describe_refusal(self._events.refusal, cfg))
        if self._events.closed_early is not None:
            self.close()
            hint = "; it may require a client certificate (cert_file/key_file)" if cfg.tls else ""
            raise BrokerError(f"MQTT broker at {cfg.address} closed the connection before accepting it "
                              f"({self._events.closed_early}){hint}")

    def subscribe(self, topic: str, timeout: float = 5.0) -> bool:
        """Subscribe at QoS 1; True when the broker granted it (False: refused, e.g. by an ACL)."""
        self._events.subscribed.clear()
        self._client.subscribe(topic, qos=1)
        if not self._events.subscribed.wait(timeout):
            return False
        return all(not getattr(code, "is_failure", False) for code in self._events.granted)

    def publish(self, topic: str, payload: bytes | str, timeout: float = 10.0) -> None:
        info = self._client.publish(topic, payload, qos=1)
        info.wait_for_publish(timeout)

    def messages(self) -> list[Received]:
        with self._lock:
            return list(self._messages)

    def wait(self, predicate, timeout: float) -> Received | None:
        """The first message for which ``predicate`` is true, waiting up to ``timeout`` s."""
        with self._lock:
            found = self._lock.wait_for(lambda: next((m for m in self._messages if predicate(m)), None), timeout)
        return found or None

    def close(self) -> None:
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
            self._client = None

    # paho's thread
    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if reason.is_failure:
            self._events.refusal = reason
        self._events.connack.set()

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if not self._events.connack.is_set():
            self._events.closed_early = reason
            self._events.connack.set()

    def _on_subscribe(self, client: Any, userdata: Any, mid: int, codes: Any, properties: Any) -> None:
        self._events.granted = list(codes)
        self._events.subscribed.set()

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        with self._lock:
            self._messages.append(Received(message.topic, bytes(message.payload)))
            self._lock.notify_all()
