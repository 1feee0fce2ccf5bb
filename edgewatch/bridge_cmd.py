"""``edgewatch bridge``: relay a microcontroller that runs the model itself to MQTT.

The MCU speaks the framed serial protocol (``docs/protocol.md``). Its messages become:

* ``InferenceResult`` with a **score**: fed to the same ``Decider`` + ``EventTracker`` as
  ``edge-infer``, with the threshold the device sent (a hit is ``score > threshold``) and
  ``--k/--n/--release/--cooldown`` counted in results (default k=1, n=1: the device decided
  each result; release 2*n). Alerts (start / update / end) go to ``<prefix>/<device>/alerts``
  with the same payload as ``edge-infer``'s.
* ``InferenceResult`` with a **label**: a result whose label is not the normal one
  (``--normal-label``, id 0 by default) and whose confidence exceeds ``--min-confidence``
  starts an event when that label differs from the current one (ending the previous
  event first); the normal label (confidence above the minimum too) ends the event;
  less confident results change nothing. ``score`` is the confidence, ``threshold``
  ``--min-confidence`` and ``label`` the label's name (``--labels``); the label is also
  logged and published in the status (``label``).
* ``LogLine``: Python logging, logger ``edgewatch.device``.
* ``Heartbeat``: liveness, in the status (``heartbeats``, ``heartbeat_age_s``, ``device_uptime_ms``).

``window_start``/``window_end`` count the device's results (of that kind) since the bridge
started, and times are arrival times. A retained status that also satisfies
``docs/status.schema.json`` (``windows`` = results) goes out at start, at every event start
and end, every ``--status-every`` seconds and at the end, with the link's counters under
``source``. The bridge runs until SIGTERM or Ctrl-C (open events are then ended), or
until the port stays gone longer than ``--reconnect`` seconds (exit 1).
"""

from __future__ import annotations

import logging
import math
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any, Optional

import numpy as np
import typer

from edge.alerts import Alert
from edge.decide import Decider, DecisionConfig, Event, EventKind
from edge.events import AlertContext, EventTracker
from edge.outbox import Outbox
from edge.settings import MqttSettings
from edge.sinks import MqttSink
from edge.sources.serial import SerialLink, log_device_line
from edge.window import Window
from edgewatch.errors_cli import EXIT_UNDELIVERED, cli_errors
from edgewatch.infer import default_outbox_path
from firmware_bridge import FrameDecoder, Heartbeat, InferenceResult, LogLine, Message, ResultKind, Samples

__all__ = ["BridgeConfig", "DeviceBridge", "bridge", "run_bridge"]

log = logging.getLogger(__name__)
_NO_VALUES = np.zeros((1, 0), dtype=np.float32)  # a result stands for one "sample" of no channels


@dataclass(frozen=True)
class BridgeConfig:
    """How device results become alerts; see the module docstring."""

    model: str = "mcu"
    labels: tuple[str, ...] = ()
    normal_label: int = 0
    min_confidence: float = 0.5
    decision: DecisionConfig = DecisionConfig(threshold=0.0, k=1, n=1)
    status_every: float = 30.0

    def label_name(self, label: int) -> str:
        return self.labels[label] if label < len(self.labels) else f"label {label}"


def _result_window(index: int, now: float) -> Window:
    return Window(index, _NO_VALUES, np.array([now], dtype=np.float64))


class _ScoreEvents:
    """Score results through the decider and the event tracker of ``edge-infer``."""

    def __init__(self, context: AlertContext, decision: DecisionConfig) -> None:
        self.decider = Decider(decision)
        self.tracker = EventTracker(context, hop=1, span=decision.n)
        self.count = 0
        self.last_score = math.nan

    def update(self, score: float, threshold: float, now: float) -> list[Alert]:
        if threshold != self.decider.config.threshold:
            self.decider.config = replace(self.decider.config, threshold=threshold)
        window = _result_window(self.count, now)
        self.count += 1
        self.last_score = score
        return self.tracker.on_window(window, score, self.decider.update(score), threshold)

    def finish(self) -> list[Alert]:
        return self.tracker.finish(self.decider.finish(), self.decider.config.threshold)


class _LabelEvents:
    """Label results: an event per run of one abnormal label; see the module docstring."""

    def __init__(self, context: AlertContext, config: BridgeConfig) -> None:
        self.config = config
        self.tracker = EventTracker(context, hop=1, span=1)
        self.count = 0
        self.active: int | None = None
        self._first, self._peak = 0, 0.0

    def update(self, label: int, confidence: float, now: float) -> list[Alert]:
        index, threshold = self.count, self.config.min_confidence
        self.count += 1
        window = _result_window(index, now)
        if label == self.active:  # the event goes on; a confident result is a hit
            if confidence > threshold:
                self._peak = max(self._peak, confidence)
            return self.tracker.on_window(window, confidence, None, threshold)
        if not confidence > threshold:
            return []  # too unsure to change anything
        alerts = self._end(index - 1)
        if label != self.config.normal_label:
            self.active, self._first, self._peak = label, index, confidence
            log.warning("device reports %s (confidence %.3f)", self.config.label_name(label), confidence)
            start = Event(EventKind.START, index, confidence, index, self.config.label_name(label))
            alerts += self.tracker.on_window(window, confidence, start, threshold)
        return alerts

    def _end(self, index: int) -> list[Alert]:
        if self.active is None:
            return []
        self.active = None
        return self.tracker.finish(Event(EventKind.END, index, self._peak, self._first), self.config.min_confidence)

    def finish(self) -> list[Alert]:
        return self._end(self.count - 1)


class DeviceBridge:
    """Turns decoded device messages into alerts and status on ``sink`` (one thread)."""

    def __init__(self, sink: Any, config: BridgeConfig, device_id: str, source: str,
                 source_stats: Callable[[], dict] = dict) -> None:
        self.sink, self.config, self.device_id, self.source = sink, config, device_id, source
        context = AlertContext(device_id, config.model, "device", source)
        self.scores = _ScoreEvents(context, config.decision)
        self.labels = _LabelEvents(context, config)
        self.source_stats = source_stats
        self.started = time.monotonic()
        self.rows = self.alerts = self.events = self.heartbeats = self.bad_results = 0
        self.device_uptime_ms: int | None = None
        self._last_heartbeat: float | None = None

    def handle(self, message: Message, now: float) -> None:
        """One message from the device; ``now`` is its arrival time (epoch seconds)."""
        if isinstance(message, InferenceResult):
            self._emit(self._result(message, now))
        elif isinstance(message, Heartbeat):
            self.heartbeats += 1
            self.device_uptime_ms = message.uptime_ms
            self._last_heartbeat = time.monotonic()
        elif isinstance(message, LogLine):
            log_device_line(message, self.source)
        elif isinstance(message, Samples):
            self.rows += len(message.values)
        else:
            log.debug("device config message ignored: %s", dict(message.entries))

    def _result(self, result: InferenceResult, now: float) -> list[Alert]:
        if result.kind is ResultKind.LABEL:
            return self.labels.update(result.label, result.confidence, now)
        if not (math.isfinite(result.score) and math.isfinite(result.threshold)):
            self.bad_results += 1
            log.warning("device sent a non-finite score %r / threshold %r; ignored", result.score, result.threshold)
            return []
        return self.scores.update(result.score, result.threshold, now)

    def _emit(self, alerts: list[Alert]) -> None:
        for alert in alerts:
            self.sink.publish(alert)
            self.alerts += 1
            self.events += alert.type == "start"
        if any(a.type in ("start", "end") for a in alerts):
            self.publish_status()

    def finish(self) -> None:
        """End the open events (the run is over) and publish the final status."""
        self._emit(self.scores.finish() + self.labels.finish())
        self.publish_status()

    def publish_status(self) -> None:
        self.sink.publish_status(self.status())

    def status(self) -> dict[str, Any]:
        """The retained status: ``docs/status.schema.json`` fields plus the device's."""
        elapsed = time.monotonic() - self.started
        results = self.scores.count + self.labels.count
        threshold = self.scores.decider.config.threshold if self.scores.count else self.config.min_confidence
        active = self.labels.active
        return {
            "device": self.device_id, "model": self.config.model, "variant": "device",
            "uptime_s": round(elapsed, 3), "rows": self.rows, "bad_rows": 0, "windows": results,
            "windows_per_s": round(results / elapsed, 3) if elapsed > 0 else 0.0,
            "latency_ms_p50": None, "latency_ms_p99": None, "events": self.events, "alerts": self.alerts,
            "overflows": 0, "anomaly": self.scores.decider.active or active is not None,
            "last_score": round(self.scores.last_score, 6) if math.isfinite(self.scores.last_score) else None,
            "threshold": threshold, "paused": False,
            "label": None if active is None else self.config.label_name(active),
            "heartbeats": self.heartbeats, "device_uptime_ms": self.device_uptime_ms,
            "heartbeat_age_s": None if self._last_heartbeat is None
            else round(time.monotonic() - self._last_heartbeat, 3),
            "bad_results": self.bad_results, "source": self.source_stats(),
        }


def run_bridge(link: SerialLink, device: DeviceBridge) -> FrameDecoder:
    """Read frames from ``link`` until it is closed; returns the decoder (its counters).

    Raises:
        SourceError: the port went away for longer than the link's reconnect time.
    """
    decoder = FrameDecoder()
    device.source_stats = lambda: {"port": link.port, "connected": link.connected, "reconnects": link.reconnects,
                                   **decoder.counters.as_dict(), "frames_bad": decoder.counters.frames_bad}
    device.publish_status()
    last = time.monotonic()
    try:
        for data in link.blocks(on_reconnect=decoder.reset):
            now = time.time()
            for message in decoder.feed(data) if data else ():
                device.handle(message, now)
            if time.monotonic() - last >= device.config.status_every:
                last = time.monotonic()
                device.publish_status()
    finally:
        device.finish()
    return decoder


def _labels(text: str | None) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(",")) if text else ()


@cli_errors
def bridge(
    port: Annotated[str, typer.Option(help="Serial port of the MCU (/dev/ttyACM0) or a pyserial URL.")],
    mqtt: Annotated[str, typer.Option(help="Broker URL mqtt://HOST:PORT or mqtts://HOST:PORT.")],
    device_id: Annotated[str, typer.Option(help="Device id, used in topics and alerts.")],
    model: Annotated[str, typer.Option(help="Model name put in alerts and status.")] = "mcu",
    baud: Annotated[int, typer.Option(help="Line speed.")] = 115200,
    outbox: Annotated[Optional[Path], typer.Option(help="SQLite file where alerts wait for the broker's ack.")] = None,
    topic_prefix: Annotated[str, typer.Option(help="First topic level(s).")] = "edgewatch",
    mqtt_ca: Annotated[Optional[str], typer.Option(help="CA certificate that signed the broker's (mqtts://).")] = None,
    mqtt_cert: Annotated[Optional[str], typer.Option(help="Client certificate (mqtts://).")] = None,
    mqtt_key: Annotated[Optional[str], typer.Option(help="Client certificate's key (mqtts://).")] = None,
    labels: Annotated[Optional[str], typer.Option(help="Label names by id, comma separated.")] = None,
    normal_label: Annotated[int, typer.Option(help="Label id that means normal.")] = 0,
    min_confidence: Annotated[float, typer.Option(help="Label results at or below this change nothing.")] = 0.5,
    k: Annotated[int, typer.Option(help="Score hits among the last N results that start an event.")] = 1,
    n: Annotated[int, typer.Option(help="Debounce span in results.")] = 1,
    release: Annotated[Optional[int], typer.Option(help="Results without a hit that end an event (default 2*N).")] = None,
    cooldown: Annotated[int, typer.Option(help="Results after an event before another may start.")] = 0,
    reconnect: Annotated[float, typer.Option(help="Seconds to keep reopening an unplugged port.")] = 30.0,
    status_every: Annotated[float, typer.Option(help="Seconds between status messages.")] = 30.0,
) -> None:
    """Relay a microcontroller's own inference results to MQTT as edge-infer alerts.

    Runs until SIGTERM or Ctrl-C. MQTT credentials come from EDGEWATCH_MQTT_USERNAME / EDGEWATCH_MQTT_PASSWORD.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = BridgeConfig(model, _labels(labels), normal_label, min_confidence,
                          DecisionConfig(0.0, k, n, cooldown, release), status_every)
    mqtt_config = MqttSettings(url=mqtt, topic_prefix=topic_prefix, ca_file=mqtt_ca, cert_file=mqtt_cert,
                               key_file=mqtt_key).config(device_id)
    link = SerialLink(port, baud, reconnect)
    sink = MqttSink(mqtt_config, Outbox(outbox or default_outbox_path(device_id)))
    try:
        sink.open()
    except BaseException:
        link.close()
        raise
    _serve(link, sink, DeviceBridge(sink, config, device_id, f"serial:{port}"))


def _serve(link: SerialLink, sink: MqttSink, device: DeviceBridge) -> None:
    """Run until SIGTERM / Ctrl-C (or the port is gone), then close the sink and report."""
    sink.command_handler = lambda name, payload: sink.publish_reply(
        {"command": name, "request_id": None, "ok": False, "reason": "edgewatch bridge accepts no commands"})
    previous = {sig: signal.signal(sig, lambda *_: link.close()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        decoder = run_bridge(link, device)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        link.close()
        report = sink.close()
    c = decoder.counters
    print(f"bridge {link.port}: results {device.scores.count + device.labels.count}, events {device.events}, "
          f"alert messages delivered {report.delivered}/{report.accepted}, heartbeats {device.heartbeats}, "
          f"frames ok {c.frames_ok}, bad {c.frames_bad}, lost {c.messages_lost}, reconnects {link.reconnects}",
          file=sys.stderr)
    if not report.complete:
        print(f"error: {report.undelivered} alert(s) were not acknowledged by the broker; they stay in "
              f"{sink.outbox.path} for the next run", file=sys.stderr)
        raise typer.Exit(EXIT_UNDELIVERED)

if __name__ == "__main__":
    typer.run(bridge)
