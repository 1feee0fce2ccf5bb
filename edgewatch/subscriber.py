"""A subscriber that collects what edgewatch publishes (used by the demo and the tests)."""

from __future__ import annotations

import uuid
import threading
import time
from dataclasses import dataclass

from edge.errors import BrokerError
from edgewatch.broker import LocalBroker

__all__ = ["MqttCollector", "Received"]



@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    retain: bool
    dup: bool = False  # the broker re-sent it (its leg's QoS 1 redelivery)

    @property
    def text(self) -> str:
        return self.payload.decode()


class MqttCollector:
    """Subscribes to one topic filter and keeps every message, in arrival order.

    ``on_connect``/``on_message`` run on paho's loop thread; ``messages`` and
    ``wait_for`` may be used from the test thread.
    """

    def __init__(self, broker: LocalBroker, topic: str, persistent: bool = False) -> None:
        import paho.mqtt.client as mqtt

        self.topic = topic
        self._broker = broker
        self._cond = threading.Condition()
        self._messages: list[Received] = []
        self._subscribed = threading.Event()
        self._client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"edgewatch-collector-{uuid.uuid4().hex[:12]}",
            protocol=mqtt.MQTTv311,
            clean_session=not persistent,  # persistent: the broker queues QoS 1 while we are away
        )
        self._client.reconnect_delay_set(min_delay=0.1, max_delay=0.5)  # type: ignore[arg-type]
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = lambda *args: self._subscribed.set()
        self._client.on_message = self._on_message

    def _on_connect(self, client, userdata, flags, reason, properties) -> None:  # noqa: ANN001
        if not reason.is_failure:
            client.subscribe(self.topic, qos=1)

    def _on_message(self, client, userdata, msg) -> None:  # noqa: ANN001
        with self._cond:
            self._messages.append(Received(msg.topic, bytes(msg.payload), bool(msg.retain), bool(msg.dup)))
            self._cond.notify_all()

    def __enter__(self) -> "MqttCollector":
        self._client.connect(self._broker.host, self._broker.port)
        self._client.loop_start()
        if not self._subscribed.wait(5):
            self.__exit__()
            raise BrokerError(f"could not subscribe to {self.topic!r} at {self._broker.url}")
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    @property
    def messages(self) -> list[Received]:
        with self._cond:
            return list(self._messages)

    def wait_for(self, n: int, timeout: float = 5.0) -> list[Received]:
        """Wait until at least ``n`` messages arrived; raise TimeoutError listing what did arrive."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self._messages) < n:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"{self.topic!r}: got {len(self._messages)} of {n} messages in {timeout}s: "
                        f"{[m.text[:80] for m in self._messages]}"
                    )
                self._cond.wait(remaining)
            return list(self._messages)
