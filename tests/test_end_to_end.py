"""The whole path: CSV -> trained model -> INT8 bundle -> edge-infer process -> real Mosquitto."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from conftest import run_cli
from edge.alerts import Alert
from edgewatch.demo import match_alerts

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_each_injected_anomaly_gives_exactly_one_alert_and_normal_data_none(
    trained_bundle, mqtt_broker, mqtt_collector, tmp_path
):
    data = trained_bundle.data
    schema = json.loads((DOCS / "alert.schema.json").read_text())
    with mqtt_collector(mqtt_broker, "edgewatch/pump-1/alerts") as alerts:
        done = run_cli("edgewatch.infer", "--bundle", str(trained_bundle.bundle), "--source",
                       f"file:{data.stream_csv}", "--mqtt", mqtt_broker.url, "--device-id", "pump-1",
                       "--outbox", str(tmp_path / "outbox.sqlite"))
        assert done.returncode == 0, done.stderr
        alerts.wait_for(2 * len(data.stream.anomalies), timeout=10)  # at least a start and an end each
        received = alerts.messages
    for message in received:
        jsonschema.validate(json.loads(message.payload), schema)
    messages = [Alert.from_json(m.payload) for m in received]
    parsed = [a for a in messages if a.type == "start"]
    matched = match_alerts(data.stream.anomalies, parsed, window=60)
    assert matched[-1] == [], f"false alarms on normal rows: {matched[-1]}"
    for index, anomaly in enumerate(data.stream.anomalies):
        assert len(matched[index]) == 1, f"{anomaly.kind} rows {anomaly.start}-{anomaly.end}: {matched[index]}"
    default = json.loads((trained_bundle.bundle / "manifest.json").read_text())["default_variant"]
    assert {a.variant for a in messages} == {default}  # the measured choice runs unless --variant says otherwise
    assert len({a.id for a in messages}) == len(messages)
    ends = {a.event_id: a for a in messages if a.type == "end"}
    for start in parsed:  # every event ends, after its start, with a peak at least the start's score
        end = ends[start.event_id]
        assert end.window_end > start.window_start and end.score >= start.score
    assert f"alert messages delivered {len(messages)}/{len(messages)}" in done.stderr


def test_real_rate_paces_the_replay(trained_bundle, tmp_path):
    head = trained_bundle.data.stream_csv.read_text().splitlines()[:31]  # 30 rows at 10 Hz = ~3 s
    short = tmp_path / "short.csv"
    short.write_text("\n".join(head) + "\n")
    import time

    began = time.monotonic()
    done = run_cli("edgewatch.infer", "--bundle", str(trained_bundle.bundle), "--source", f"file:{short}",
                   "--rate", "real")
    elapsed = time.monotonic() - began
    assert done.returncode == 0, done.stderr
    assert elapsed >= 2.8, f"30 rows at 10 Hz replayed in {elapsed:.2f} s"
