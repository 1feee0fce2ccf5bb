"""The serial sensor recipe (README "Recipes"): a simulated MCU prints the pump's four readings as
numeric lines at 100 Hz and at 1 kHz into a pty; edge-infer on serial:...&format=lines raises one
event per injected anomaly and none on the normal rows between them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

pytest.importorskip("serial", reason="pyserial missing: pip install 'edgewatch[serial]'")

from serial_fixtures import stream_rows, wait_for_message  # noqa: E402

COLUMNS = ("temperature", "vibration_rms", "current", "pressure")


@pytest.mark.parametrize("rate, first, last", [(100, 1500, 2600), (1000, 0, 4000)])
def test_the_serial_recipe_finds_each_anomaly_at_100hz_and_1khz(trained_bundle, mqtt_broker, mqtt_collector, uart,
                                                               tmp_path, rate, first, last):
    from edge.alerts import Alert
    from edgewatch.demo import match_alerts
    from edgewatch.synth import Anomaly

    stream = trained_bundle.data.stream
    anomalies = tuple(Anomaly(a.kind, a.start - first, a.end - first) for a in stream.anomalies
                      if first <= a.start and a.end <= last)
    rows = stream_rows(trained_bundle.data.stream_csv, COLUMNS, first, last)
    lines = [(",".join(f"{v:.4f}" for v in r) + "\r\n").encode() for r in rows]
    device = f"lines-{rate}"
    with mqtt_collector(mqtt_broker, f"edgewatch/{device}/#") as got:
        infer = subprocess.Popen(
            [sys.executable, "-m", "edgewatch.infer", "--bundle", str(trained_bundle.bundle), "--source",
             f"serial:{uart.link}?format=lines&baud=115200", "--mqtt", mqtt_broker.url, "--device-id", device,
             "--outbox", str(tmp_path / "outbox.sqlite"), "--quiet"],
            stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
        try:
            wait_for_message(got, lambda m: m.topic.endswith("/availability") and m.text == "online", 30)  # the port is open
            assert uart.send(lines, rate=rate).wait(len(lines) / rate + 20) == 0
            time.sleep(0.5)  # the source drains the pty; chunks already queued are scored after SIGTERM too
            infer.send_signal(signal.SIGTERM)
            _, stderr = infer.communicate(timeout=30)
        finally:
            if infer.poll() is None:
                infer.kill()
        assert infer.returncode == 0, stderr
        alerts = [Alert.from_json(m.payload) for m in got.messages if m.topic.endswith("/alerts")]
    assert f"rows {len(lines)}," in stderr, stderr  # every line arrived and was windowed
    matched = match_alerts(anomalies, [a for a in alerts if a.type == "start"], window=60)
    assert matched[-1] == [], f"false alarms on normal rows: {matched[-1]}"
    assert [len(matched[i]) for i in range(len(anomalies))] == [1] * len(anomalies), (anomalies, alerts)
    assert len(anomalies) == (2 if rate == 100 else 4)
