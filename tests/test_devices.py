"""``edgewatch devices`` against the real parts: the PulseAudio microphone, LiteRT and onnxruntime,
and a Mosquitto broker that answers next to a port where nothing does."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

from edge.devices import list_audio_inputs, list_backends


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_devices_lists_the_microphone_backends_and_a_broker_that_answers(virtual_mic, mqtt_broker):
    done = subprocess.run([sys.executable, "-m", "edgewatch.cli", "devices", "--json", "--mqtt", mqtt_broker.url],
                          capture_output=True, text=True, timeout=60, env=virtual_mic.env)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    names = [d["name"] for d in report["audio_inputs"]["items"]]
    assert "pulse" in names and any(d["default"] for d in report["audio_inputs"]["items"]), report["audio_inputs"]
    backends = {b["name"]: b for b in report["backends"]["items"]}
    assert backends["litert"]["available"] and backends["onnxruntime"]["available"]
    assert report["broker"]["items"][0]["answers"] is True and report["broker"]["error"] is None
    assert isinstance(report["cameras"]["items"], list) and report["cameras"]["error"] is None


def test_a_broker_that_does_not_answer_is_reported_not_raised():
    done = subprocess.run([sys.executable, "-m", "edgewatch.cli", "devices", "--mqtt",
                           f"mqtt://127.0.0.1:{_closed_port()}"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "MQTT broker" in done.stdout and "refused" in done.stdout.lower()


def test_missing_extras_and_backends_say_how_to_install_them(monkeypatch):
    monkeypatch.setitem(sys.modules, "sounddevice", None)
    monkeypatch.setitem(sys.modules, "tflite_runtime", None)
    audio = list_audio_inputs()
    assert audio.items == [] and "pip install 'edgewatch[audio]'" in audio.error
    tflite = next(b for b in list_backends().items if b["name"] == "tflite_runtime")
    assert tflite["available"] is False and tflite["install"] == "pip install tflite-runtime"
