"""Live samples from a serial port: ``serial:PORT?baud=115200&format=frames``.

``format=frames`` (default) reads the framed protocol of ``docs/protocol.md``: each
``Samples`` message becomes rows, in the bundle's column order (the device sends
exactly one value per bundle column; int16 values are taken as they are, unscaled);
frame errors and sequence gaps are counted in ``stats()``. ``format=lines`` reads
newline-terminated lines of numbers separated by commas, spaces or tabs; a malformed
line is a ``BadRow``.

Every row is stamped with its arrival time (``time.time()`` when its bytes were read;
rows read together share a stamp). A serial source never ends by itself: it runs
until ``close()`` (``edge-infer`` calls it on SIGTERM) or until the port is gone
for longer than ``reconnect`` seconds, which raises ``SourceError``.

Query keys: ``baud`` (115200), ``format`` (frames | lines), ``reconnect`` (seconds
to keep trying to reopen an unplugged port, 30; 0 = give up at once). ``PORT`` may
be a device path or any pyserial URL (``socket://host:port``, ``rfc2217://...``).

Threads: ``chunks()`` runs on one thread (the pipeline's producer); ``close()`` and
``stats()`` may be called from any other thread.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import numpy as np

from edge.csvdata import BadRow
from edge.errors import ConfigError, MissingDependencyError, SourceError
from edge.sources.base import Chunk, StreamRequest
from edge.sources.lines import LineParser
from edge.sources.reopen import Backoff, reopen_with_backoff
from firmware_bridge import FrameDecoder, Heartbeat, InferenceResult, LogLine, Message, Samples

__all__ = ["SerialLink", "SerialOptions", "SerialSource", "log_device_line", "parse_serial_spec", "open_serial",
           "open_serial_source"]

log = logging.getLogger(__name__)
device_log = logging.getLogger("edgewatch.device")

FORMATS = ("frames", "lines")
_LEVELS = (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL)


@dataclass(frozen=True)
class SerialOptions:
    """A parsed ``serial:`` spec.

    Attributes:
        port: device path or pyserial URL.
        baud: line speed (ignored by pseudo-terminals and sockets).
        format: ``frames`` or ``lines``.
        reconnect_s: how long to keep reopening a port that went away; 0 = not at all.
    """

    port: str
    baud: int = 115200
    format: str = "frames"
    reconnect_s: float = 30.0


def parse_serial_spec(arg: str) -> SerialOptions:
    """``PORT?key=value&...`` (the part after ``serial:``) -> options; raises ``ConfigError``."""
    port, _, query = arg.partition("?")
    if not port:
        raise ConfigError("serial source needs a port: serial:/dev/ttyACM0?baud=115200&format=frames")
    given = dict(parse_qsl(query, keep_blank_values=True, strict_parsing=False))
    unknown = sorted(set(given) - {"baud", "format", "reconnect"})
    if unknown:
        raise ConfigError(f"serial source: unknown option(s) {', '.join(unknown)}; known: baud, format, reconnect")
    try:
        baud = int(given.get("baud", 115200))
        reconnect = float(given.get("reconnect", 30.0))
    except ValueError as exc:
        raise ConfigError(f"serial source {arg!r}: baud must be an integer and reconnect a number of seconds") from exc
    fmt = given.get("format", "frames")
    if fmt not in FORMATS:
        raise ConfigError(f"serial source: format must be frames or lines, got {fmt!r}")
    if baud <= 0 or not reconnect >= 0 or math.isinf(reconnect):
        raise ConfigError(f"serial source {arg!r}: baud must be > 0 and reconnect a finite number >= 0")
    return SerialOptions(port, baud, fmt, reconnect)


def _pyserial() -> Any:
    try:
        import serial
    except ImportError as exc:
        raise MissingDependencyError("serial sources need pyserial: pip install 'edgewatch[serial]'") from exc
    return serial


def log_device_line(message: LogLine, port: str) -> None:
    """Forward a device ``LogLine`` to Python logging (logger ``edgewatch.device``)."""
    device_log.log(_LEVELS[int(message.level)], "%s: %s", port, message.text)


class SerialLink:
    """An open serial port that yields received bytes and reopens itself after an unplug.

    Opens the port at construction (so a wrong path fails before anything else starts).
    After each read that returned data it waits ``coalesce_s`` (10 ms) so the next read
    takes what gathered meanwhile: at 1 kHz this cuts the reader's CPU about 3x (measured
    in benchmarks/sources.py) and costs at most 10 ms of latency; the driver's buffer
    holds 4 KiB, over 300 ms at 115200 baud.
    """

    def __init__(self, port: str, baud: int = 115200, reconnect_s: float = 30.0, read_timeout: float = 0.1,
                 coalesce_s: float = 0.01) -> None:
        self.port, self.baud, self.reconnect_s = port, baud, reconnect_s
        self._serial = _pyserial()
        self._timeout = read_timeout
        self._coalesce = coalesce_s  # after data, let more gather in the driver's buffer before the next read
        self._closed = threading.Event()
        self._lock = threading.RLock()  # guards _port and _reading; re-entrant for close() from a signal handler
        self._reading = False
        self.reconnects = 0
        self.last_error: str | None = None
        self._port = self._open()

    @property
    def connected(self) -> bool:
        """True while the port is open."""
        return self._port is not None

    def _open(self) -> Any:
        try:
            return self._serial.serial_for_url(self.port, baudrate=self.baud, timeout=self._timeout,
                                               exclusive=True)  # a second reader would silently split the bytes
        except ValueError as exc:
            raise ConfigError(f"serial port {self.port}: {exc}") from exc
        except (self._serial.SerialException, OSError) as exc:
            raise SourceError(f"cannot open serial port {self.port}: {exc}; check the path, that you may "
                              "read it (dialout group) and that no other program holds it") from exc

    def blocks(self, on_reconnect: Callable[[], None] | None = None) -> Iterator[bytes]:
        """Received bytes, at least every ``read_timeout`` s (``b""`` when quiet), until ``close()``.

        Args:
            on_reconnect: called (on this thread) after the port was reopened.

        Raises:
            SourceError: the port went away and could not be reopened within ``reconnect_s``.
        """
        with self._lock:
            self._reading = True
        try:
            while not self._closed.is_set():
                port = self._port
                if port is None:
                    break
                try:
                    data = port.read(port.in_waiting or 1)
                except (self._serial.SerialException, OSError) as exc:
                    if self._closed.is_set():
                        break
                    if self._reopen(exc) and on_reconnect is not None:
                        on_reconnect()
                    continue
                yield data
                if data and self._coalesce:
                    self._closed.wait(self._coalesce)
        finally:
            with self._lock:
                self._reading = False
                self._drop_port()

    def _reopen(self, cause: BaseException) -> bool:
        """Close the failed port and try to open it again with backoff; False if closed meanwhile."""
        self.last_error = f"{type(cause).__name__}: {cause}"
        with self._lock:
            self._drop_port()
        log.warning("serial port %s lost (%s); reopening for up to %g s", self.port, cause, self.reconnect_s)
        def give_up(exc: SourceError) -> SourceError:
            return SourceError(f"serial port {self.port} disconnected ({cause}) and could not be reopened "
                               f"within {self.reconnect_s:g} s ({exc.__cause__ or exc}); is the device plugged in?")

        port = reopen_with_backoff(self._open, self._closed, Backoff(self.reconnect_s, 0.05, 1.0), give_up)
        if port is None:
            return False
        with self._lock:
            if self._closed.is_set():
                port.close()
                return False
            self._port = port
        self.reconnects += 1
        log.info("serial port %s reopened (reconnect %d)", self.port, self.reconnects)
        return True

    def _drop_port(self) -> None:
        """Close the current port, ignoring errors (caller holds the lock)."""
        port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except Exception:  # noqa: BLE001 - a vanished device may fail to close cleanly
                log.debug("error closing %s", self.port, exc_info=True)

    def close(self) -> None:
        """Stop reading (from any thread): ``blocks()`` returns within about ``read_timeout``."""
        with self._lock:
            self._closed.set()
            if not self._reading:
                self._drop_port()
            elif self._port is not None and hasattr(self._port, "cancel_read"):
                try:
                    self._port.cancel_read()  # wakes a blocked read at once
                except Exception:  # noqa: BLE001 - the read timeout still ends it
                    log.debug("cancel_read failed on %s", self.port, exc_info=True)


class _FrameRows:
    """Frames -> sample rows; counts the other message types."""

    def __init__(self, channels: int, columns: Sequence[str], port: str) -> None:
        self.channels, self.columns, self.port = channels, columns, port
        self.decoder = FrameDecoder()
        self.counts = {"samples": 0, "heartbeats": 0, "log_lines": 0, "results": 0, "configs": 0}

    def feed(self, data: bytes) -> tuple[np.ndarray, list[BadRow]]:
        blocks = [self._rows(m) for m in self.decoder.feed(data)]
        blocks = [b for b in blocks if b is not None]
        if not blocks:
            return np.empty((0, self.channels), np.float32), []
        return (blocks[0] if len(blocks) == 1 else np.concatenate(blocks)), []

    def _rows(self, message: Message) -> np.ndarray | None:
        if isinstance(message, Samples):
            if message.channels != self.channels:
                raise SourceError(
                    f"serial:{self.port} sends {message.channels} channel(s) per sample but the bundle expects "
                    f"{self.channels} ({', '.join(self.columns)}); send one value per bundle column, in that order")
            self.counts["samples"] += len(message.values)
            return message.values.astype(np.float32)
        if isinstance(message, Heartbeat):
            self.counts["heartbeats"] += 1
        elif isinstance(message, LogLine):
            self.counts["log_lines"] += 1
            log_device_line(message, self.port)
        elif isinstance(message, InferenceResult):
            self.counts["results"] += 1
        else:
            self.counts["configs"] += 1
        return None

    def reset(self) -> None:
        self.decoder.reset()

    def stats(self) -> dict[str, int]:
        c = self.decoder.counters
        return {**c.as_dict(), "frames_bad": c.frames_bad, **self.counts}


class SerialSource:
    """Rows from a serial port, as ``Chunk``s in the bundle's column order; see the module docstring."""

    name = "serial"
    live = True

    def __init__(self, options: SerialOptions, columns: Sequence[str]) -> None:
        self.options = options
        self.spec = f"serial:{options.port}"
        channels = len(columns)
        self._parser: _FrameRows | LineParser = (
            _FrameRows(channels, tuple(columns), options.port) if options.format == "frames" else LineParser(channels))
        self._lock = threading.Lock()  # the parser's counters are read by stats()
        self._link = SerialLink(options.port, options.baud, options.reconnect_s)

    def chunks(self) -> Iterator[Chunk]:
        for data in self._link.blocks(on_reconnect=self._reset):
            if not data:
                continue
            now = time.time()
            with self._lock:
                values, bad = self._parser.feed(data)
            if len(values) or bad:
                yield Chunk(values, np.full(len(values), now, dtype=np.float64), bad)

    def _reset(self) -> None:
        with self._lock:
            self._parser.reset()

    def close(self) -> None:
        self._link.close()

    def stats(self) -> dict[str, Any]:
        """Link and decoder figures for the status message (any thread)."""
        with self._lock:
            parsed = self._parser.stats()
        return {"port": self.options.port, "format": self.options.format, "connected": self._link.connected,
                "reconnects": self._link.reconnects, "last_error": self._link.last_error, **parsed}


def open_serial(arg: str, columns: Sequence[str]) -> SerialSource:
    """The source for ``serial:ARG``; opens the port now."""
    return SerialSource(parse_serial_spec(arg), columns)


def open_serial_source(arg: str, request: StreamRequest) -> SerialSource:
    """The registry's entry for ``serial:ARG``."""
    if request.media == "video":
        raise ConfigError("a serial port gives numeric rows, but this bundle expects camera frames")
    return open_serial(arg, request.columns)
