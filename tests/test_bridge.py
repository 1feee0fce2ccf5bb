"""``edgewatch bridge``: a simulated MCU's own results over a real pty become alerts on a real Mosquitto."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest

pytest.importorskip("serial", reason="pyserial missing: pip install 'edgewatch[serial]'")

from edge.alerts import Alert  # noqa: E402
from firmware_bridge import Heartbeat, InferenceResult, LogLevel, LogLine, encode  # noqa: E402
from serial_fixtures import FakeUart, wait_for_message  # noqa: E402

DOCS = Path(__file__).resolve().parent.parent / "docs"
THRESHOLD = 0.25


def _device_messages() -> list:
    """What the MCU says, and (in comments) what the bridge must make of it."""
    scores = [0.1, 0.1, 0.1,
              0.3,            # hit: start (low, 1.2x)
              0.4, 0.6,       # 0.6 = 2.4x: update (medium)
              0.3, 0.1, 0.1,  # two results without a hit: end (peak 0.6)
              0.1]
    labels = [(0, 0.9),       # normal
              (1, 0.8),       # cavitation: start
              (1, 0.3),       # too unsure: nothing
              (1, 0.9),       # still cavitation
              (2, 0.7),       # overheat: end cavitation, start overheat
              (0, 0.4),       # unsure normal: nothing
              (0, 0.95)]      # normal: end overheat
    out = [Heartbeat(0, 1000), LogLine(0, LogLevel.INFO, "pump started")]
    out += [InferenceResult.score_result(0, s, THRESHOLD) for s in scores]
    out += [Heartbeat(0, 2000)] + [InferenceResult.label_result(0, label, c) for label, c in labels]
    out += [InferenceResult.score_result(0, 0.5, THRESHOLD)]  # start, left open until SIGTERM
    return [replace(m, seq=seq) for seq, m in enumerate(out)]


def test_mcu_results_become_edge_infer_alerts(mqtt_broker, mqtt_collector, tmp_path):
    uart = FakeUart(tmp_path)
    schema = json.loads((DOCS / "alert.schema.json").read_text())
    status_schema = json.loads((DOCS / "status.schema.json").read_text())
    messages = _device_messages()
    env = {**os.environ, "COLUMNS": "200"}
    try:
        with mqtt_collector(mqtt_broker, "edgewatch/mcu-1/#") as got:
            bridge = subprocess.Popen(
                [sys.executable, "-m", "edgewatch.bridge_cmd", "--port", str(uart.link), "--mqtt", mqtt_broker.url,
                 "--device-id", "mcu-1", "--outbox", str(tmp_path / "outbox.sqlite"), "--model", "pump-mcu",
                 "--labels", "normal,cavitation,overheat", "--release", "2", "--status-every", "0.2"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
            try:
                wait_for_message(got, lambda m: m.topic.endswith("/availability") and m.text == "online", 15)  # port open
                uart.send([b"\x00"] + [encode(m) for m in messages], rate=200)
                _wait_alerts(got, 8)
                bridge.send_signal(signal.SIGTERM)
                _, stderr = bridge.communicate(timeout=15)
            finally:
                if bridge.poll() is None:
                    bridge.kill()
            assert bridge.returncode == 0, stderr
            alerts = _wait_alerts(got, 9)
            status = json.loads([m for m in got.messages if m.topic.endswith("/status")][-1].payload)
    finally:
        uart.close()
    for payload in alerts:
        jsonschema.validate(payload, schema)
    parsed = [Alert(**a) for a in alerts]
    assert [a.type for a in parsed] == ["start", "update", "end", "start", "end", "start", "end", "start", "end"]
    scores = parsed[:3]  # the score event, from edge.decide + edge.events as in edge-infer
    assert [(a.score, a.severity) for a in scores] == [(0.3, "low"), (0.6, "medium"), (0.6, "medium")]
    assert [(a.window_start, a.window_end) for a in scores] == [(3, 4), (3, 6), (3, 7)]
    assert len({a.event_id for a in scores}) == 1 and {a.threshold for a in scores} == {THRESHOLD}
    cavitation, overheat = parsed[3], parsed[5]  # label events: score = confidence, threshold = --min-confidence
    assert (cavitation.score, cavitation.threshold, overheat.score) == (0.8, 0.5, 0.7)
    assert parsed[4].event_id == cavitation.event_id and parsed[4].score == 0.9  # ended by overheat, peak 0.9
    assert parsed[6].event_id == overheat.event_id and parsed[6].score == 0.7  # ended by a confident normal
    assert parsed[7].event_id == parsed[8].event_id and parsed[8].score == 0.5  # ended at SIGTERM
    assert {(a.device, a.model, a.variant, a.source) for a in parsed} == {
        ("mcu-1", "pump-mcu", "device", f"serial:{uart.link}")}
    jsonschema.validate(status, status_schema)
    assert (status["heartbeats"], status["device_uptime_ms"], status["windows"], status["events"]) == (2, 2000, 18, 4)
    assert status["source"]["frames_ok"] == len(messages) and status["source"]["messages_lost"] == 0
    assert "pump started" in stderr and "device reports overheat" in stderr
    assert "alert messages delivered 9/9" in stderr and f"frames ok {len(messages)}, bad 0, lost 0" in stderr


def _wait_alerts(collector, n: int) -> list[dict]:
    wait_for_message(collector, lambda m: sum(x.topic.endswith("/alerts") for x in collector.messages) >= n, 10)
    return [json.loads(m.payload) for m in collector.messages if m.topic.endswith("/alerts")]


class _ListSink:
    def __init__(self) -> None:
        self.alerts, self.statuses = [], []

    def publish(self, alert) -> None:
        self.alerts.append(alert)

    def publish_status(self, status: dict) -> None:
        self.statuses.append(status)


def test_non_finite_scores_are_counted_and_open_events_end_when_the_bridge_stops():
    import math
    import time

    from edgewatch.bridge_cmd import BridgeConfig, DeviceBridge

    sink = _ListSink()
    device = DeviceBridge(sink, BridgeConfig(), "d", "serial:x")
    for score in (math.nan, math.inf, 0.1, 0.5, 0.6):
        device.handle(InferenceResult.score_result(0, score, THRESHOLD), time.time())
    device.handle(InferenceResult.label_result(0, 3, 0.9), time.time())  # unnamed abnormal label
    device.finish()
    assert [(a.type, a.score) for a in sink.alerts] == [("start", 0.5), ("start", 0.9), ("end", 0.6), ("end", 0.9)]
    assert sink.statuses[-1]["bad_results"] == 2 and sink.statuses[-1]["anomaly"] is False
