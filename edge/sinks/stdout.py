"""A sink that writes one alert JSON per line to a text stream (stdout by default).

Used when no ``--mqtt`` broker is given, and by pipelines that pipe alerts into
another program. ``publish`` is called by the pipeline's worker thread; a lock
keeps lines whole if several threads publish.
"""

from __future__ import annotations

import enum
import sys
import threading
from typing import TextIO

from edge.alerts import Alert
from edge.errors import SinkError
from edge.sinks.base import DeliveryReport

__all__ = ["JsonLinesSink"]


class _State(enum.Enum):
    NEW = "new"
    OPEN = "open"
    CLOSED = "closed"


class JsonLinesSink:
    """Writes ``alert.to_json()`` plus a newline per alert and flushes.

    Args:
        stream: where to write; ``sys.stdout`` (looked up at open) when None.
            The sink never closes a stream it is given.
    """

    name = "stdout"

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self._state = _State.NEW
        self._accepted = 0
        self._delivered = 0
        self.last_report: DeliveryReport | None = None

    def open(self) -> None:
        """Bind the stream (``sys.stdout`` if none was given)."""
        if self._state is not _State.NEW:
            raise SinkError(f"stdout sink is {self._state.value}; create a new one")
        if self._stream is None:
            self._stream = sys.stdout
        self._state = _State.OPEN

    def publish(self, alert: Alert) -> None:
        """Write one line.

        Raises:
            SinkError: the sink is not open, or the stream is closed (e.g. a broken pipe).
        """
        if self._state is not _State.OPEN or self._stream is None:
            raise SinkError(f"stdout sink is {self._state.value}; open it before publishing")
        line = alert.to_json() + "\n"
        with self._lock:
            self._accepted += 1
            try:
                self._stream.write(line)
                self._stream.flush()
            except (OSError, ValueError) as exc:  # BrokenPipeError, or I/O on a closed file
                raise SinkError(f"cannot write alert {alert.id} to output: {exc}") from exc
            self._delivered += 1

    def publish_status(self, status: dict) -> None:
        """Status is for MQTT; on stdout only alerts are written."""

    def publish_reply(self, reply: dict) -> None:
        """No commands arrive through stdout, so there is nothing to answer."""

    def close(self, timeout: float = 10.0) -> DeliveryReport:
        """Flush and report; ``timeout`` is unused (writes are synchronous)."""
        with self._lock:
            if self._state is _State.OPEN and self._stream is not None:
                try:
                    self._stream.flush()
                except (OSError, ValueError):
                    pass
            self._state = _State.CLOSED
            report = DeliveryReport(self._accepted, self._delivered, self._accepted - self._delivered)
        self.last_report = report
        return report

    def __enter__(self) -> "JsonLinesSink":
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
