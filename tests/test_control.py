"""Status, remote commands and discovery, with edge-infer running against a real broker."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import paho.mqtt.client as mqtt
import pytest

from test_delivery import _fast_stream
from test_mqtt_sink import unique_device

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _schema(name: str) -> dict:
    return json.loads((DOCS / name).read_text())


@pytest.fixture
def running_infer(trained_bundle, mqtt_broker, tmp_path):
    """edge-infer replaying the stream at 500 rows/s (about 8 s), with its device id."""
    device = unique_device()
    stream = _fast_stream(trained_bundle, tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "edgewatch.infer", "--bundle", str(trained_bundle.bundle), "--source",
         f"file:{stream}", "--rate", "real", "--mqtt", mqtt_broker.url, "--device-id", device,
         "--outbox", str(tmp_path / "o.sqlite"), "--quiet"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    yield device, proc
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def _send(broker, topic: str, payload: str) -> None:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    client.connect(broker.host, broker.port)
    client.loop_start()
    client.publish(topic, payload, qos=1).wait_for_publish(5)
    client.disconnect()
    client.loop_stop()


def test_commands_are_validated_applied_and_answered(running_infer, mqtt_broker, mqtt_collector, trained_bundle,
                                                      tmp_path):
    device, proc = running_infer
    tampered = shutil.copytree(trained_bundle.bundle, tmp_path / "tampered")
    (tampered / "model_int8.tflite").write_bytes(b"\0" * 16)
    commands = [
        ("threshold", '{"value": 1000.0, "request_id": "r1"}', True),
        ("threshold", '{"value": -1}', False),
        ("bogus", "{}", False),
        ("pause", "not json", False),
        ("pause", "", True),
        ("reload", json.dumps({"bundle": str(tampered)}), False),
        ("reload", json.dumps({"bundle": str(tmp_path / "missing")}), False),
        ("reload", "{}", True),
        ("resume", '{"request_id": 7}', True),
    ]
    with mqtt_collector(mqtt_broker, f"edgewatch/{device}/reply") as replies, \
            mqtt_collector(mqtt_broker, f"edgewatch/{device}/status") as status:
        status.wait_for(1, timeout=30)  # the runtime is up and subscribed
        for name, payload, _ in commands:
            _send(mqtt_broker, f"edgewatch/{device}/cmd/{name}", payload)
            time.sleep(0.2)  # keep them in order
        answers = [json.loads(m.payload) for m in replies.wait_for(len(commands), timeout=20)]
        last_status = json.loads(status.messages[-1].payload)
    assert proc.wait(timeout=60) == 0, proc.stderr.read()
    for answer in answers:
        jsonschema.validate(answer, _schema("reply.schema.json"))
    assert [a["ok"] for a in answers] == [ok for _, _, ok in commands]
    assert answers[0]["request_id"] == "r1" and answers[0]["threshold"] == 1000.0
    assert "positive number" in answers[1]["reason"] and "unknown command" in answers[2]["reason"]
    assert "not JSON" in answers[3]["reason"] and answers[4]["paused"] is True
    assert "sha256" in answers[5]["reason"] or "bytes" in answers[5]["reason"]
    assert answers[6]["ok"] is False and answers[8] == {**answers[8], "paused": False, "request_id": "7"}
    assert answers[7]["threshold"] != 1000.0  # a reload brings back the bundle's calibrated threshold
    jsonschema.validate(last_status, _schema("status.schema.json"))


def test_status_is_retained_and_discovery_announces_the_entities(running_infer, mqtt_broker, mqtt_collector):
    device, proc = running_infer
    assert proc.wait(timeout=60) == 0, proc.stderr.read()
    with mqtt_collector(mqtt_broker, f"edgewatch/{device}/status") as late:
        status = json.loads(late.wait_for(1)[0].payload)
    jsonschema.validate(status, _schema("status.schema.json"))
    assert status["events"] == 4 and status["anomaly"] is False and status["outbox_depth"] == 0
    assert status["windows"] > 0 and status["latency_ms_p50"] > 0
    with mqtt_collector(mqtt_broker, f"homeassistant/+/edgewatch_{device}/+/config") as discovery:
        configs = {m.topic: json.loads(m.payload) for m in discovery.wait_for(2)}
    anomaly = configs[f"homeassistant/binary_sensor/edgewatch_{device}/anomaly/config"]
    assert anomaly["state_topic"] == f"edgewatch/{device}/status" and anomaly["device_class"] == "problem"
    assert configs[f"homeassistant/sensor/edgewatch_{device}/score/config"]["availability_topic"].endswith(
        "/availability")
