"""The sink interface: where decided alerts go."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from edge.alerts import Alert

__all__ = ["Sink", "DeliveryReport"]


@dataclass(frozen=True)
class DeliveryReport:
    """What a sink did with the alerts it accepted, reported when it closes."""

    accepted: int
    delivered: int
    undelivered: int

    @property
    def complete(self) -> bool:
        return self.undelivered == 0


class Sink(Protocol):
    """Accepts alerts from the pipeline's worker thread.

    ``open`` connects (raising ``SinkError`` with a one-line reason when it
    cannot), ``publish`` must not block on the network for long, and
    ``close`` waits up to ``timeout`` seconds for outstanding deliveries and
    returns what happened. Sinks are context managers: ``__enter__`` opens.
    A sink that can receive remote commands calls ``command_handler(name, payload)``
    (on its own thread) when one arrives; the handler only queues it.
    """

    name: str

    def open(self) -> None: ...

    def publish(self, alert: Alert) -> None: ...

    def publish_status(self, status: dict) -> None:
        """Best effort, latest wins (retained where the transport has it); may drop when offline."""

    def publish_reply(self, reply: dict) -> None:
        """The answer to a remote command; best effort."""

    def close(self, timeout: float = 10.0) -> DeliveryReport: ...

    def __enter__(self) -> "Sink": ...

    def __exit__(self, *exc: object) -> None: ...
