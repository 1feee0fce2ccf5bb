"""Living on a device: the systemd unit, `edgewatch doctor` against real brokers, SIGTERM."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from certs import make_certificates
from conftest import run_cli
from edge.doctor.host import check_clock
from edge.doctor.base import Level
from edge.bundle import load_bundle
from edgewatch.broker import LocalBroker, write_password_file
from test_delivery import _fast_stream
from test_mqtt_sink import unique_device, wait_until
from no_tensorflow import run_without_tensorflow

SECRET = "doctor-Pump-9"


# -- service install ---------------------------------------------------------------


def test_service_install_writes_a_hardened_unit_and_keeps_secrets_out_of_it(tmp_path):
    done = run_cli("edgewatch.cli", "service", "install", "--prefix", str(tmp_path), "--device-id", "pump-1")
    assert done.returncode == 0, done.stderr
    unit = tmp_path / "etc/systemd/system/edgewatch.service"
    config, env = tmp_path / "etc/edgewatch/edgewatch.toml", tmp_path / "etc/edgewatch/edgewatch.env"
    assert {p: oct(p.stat().st_mode & 0o777) for p in (unit, config, env)} == {
        unit: "0o644", config: "0o640", env: "0o600"}
    text = unit.read_text()
    for line in ("User=edgewatch", "Restart=on-failure", "NoNewPrivileges=yes", "ProtectSystem=strict",
                 "EnvironmentFile=/etc/edgewatch/edgewatch.env", "StateDirectory=edgewatch",
                 "ExecStart=" + str(os.path.join(os.path.dirname(sys.executable), "edge-infer"))
                 + " --config /etc/edgewatch/edgewatch.toml --quiet", "KillSignal=SIGTERM", "TimeoutStopSec=30"):
        assert line in text.splitlines(), line
    assert "PASSWORD" not in text and "password" not in text.lower()
    assert 'device_id = "pump-1"' in config.read_text()
    assert not (tmp_path / "etc/passwd").exists()  # no user created under a prefix
    config.write_text("# edited by the user\n")
    again = run_cli("edgewatch.cli", "service", "install", "--prefix", str(tmp_path))
    assert f"kept {config} (exists)" in again.stdout and config.read_text() == "# edited by the user\n"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_the_unit_passes_systemd_analyze_verify(tmp_path):
    assert run_cli("edgewatch.cli", "service", "install", "--prefix", str(tmp_path)).returncode == 0
    done = subprocess.run(["systemd-analyze", "verify", str(tmp_path / "etc/systemd/system/edgewatch.service")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stderr.strip() == "", done.stderr


def test_dry_run_writes_nothing(tmp_path):
    done = run_cli("edgewatch.cli", "service", "install", "--prefix", str(tmp_path / "root"), "--dry-run")
    assert done.returncode == 0 and "Restart=on-failure" in done.stdout
    assert not (tmp_path / "root").exists()


# -- doctor --------------------------------------------------------------------------


def _doctor(trained_bundle, tmp_path, mqtt_table: str, env: dict | None = None, source: str | None = None):
    config = tmp_path / "doctor.toml"
    source = source or f"file:{trained_bundle.data.stream_csv}"
    config.write_text(f'bundle = "{trained_bundle.bundle}"\nsource = "{source}"\ndevice_id = "pump-1"\n'
                      f'outbox = "{tmp_path / "o.sqlite"}"\n[mqtt]\n{mqtt_table}\n')
    config.chmod(0o600)
    done = run_without_tensorflow("edgewatch", "doctor", "--config", config, timeout=120,
                                  env={**os.environ, **(env or {})})
    lines = {line.split()[1]: line for line in done.stdout.splitlines() if line[:4] in ("OK  ", "WARN", "FAIL")}
    return done, lines


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return make_certificates(tmp_path_factory.mktemp("certs"))


def test_doctor_passes_on_a_healthy_device_with_tls_and_a_client_certificate(trained_bundle, tmp_path, certs):
    with LocalBroker(tls=(certs.ca, certs.server_cert, certs.server_key), require_certificate=True) as broker:
        done, lines = _doctor(trained_bundle, tmp_path, f'url = "{broker.url}"\nca_file = "{certs.ca}"\n'
                              f'cert_file = "{certs.client_cert}"\nkey_file = "{certs.client_key}"')
    assert done.returncode == 0, done.stdout + done.stderr
    assert lines["broker"].startswith("OK") and "(TLS, anonymous), commands topic allowed" in lines["broker"]
    default = load_bundle(trained_bundle.bundle).variant()  # the measured choice, on its own runtime
    runtime = "litert (cpu)" if default.format == "tflite" else "onnxruntime (CPUExecutionProvider)"
    assert lines["bundle"].startswith("OK") and f"{default.name} on {runtime}, self-test window" in lines["bundle"]
    assert "litert 2.3" in done.stdout and "onnxruntime" in done.stdout
    assert lines["audio"].startswith("OK") and "sounddevice" in lines["audio"]  # setup installs [audio] for tests
    assert lines["outbox"].startswith("OK") and "MiB free" in lines["outbox"]
    assert done.stdout.rstrip().endswith("0 failure(s), 0 warning(s)")


def test_doctor_fails_on_a_wrong_password_without_printing_it(trained_bundle, tmp_path):
    path = write_password_file(tmp_path / "passwd", {"pump-1": SECRET})
    with LocalBroker(password_file=path) as broker:
        done, lines = _doctor(trained_bundle, tmp_path, f'url = "{broker.url}"',
                              env={"EDGEWATCH_MQTT_USERNAME": "pump-1", "EDGEWATCH_MQTT_PASSWORD": SECRET + "x"})
        good, good_lines = _doctor(trained_bundle, tmp_path, f'url = "{broker.url}"',
                                   env={"EDGEWATCH_MQTT_USERNAME": "pump-1", "EDGEWATCH_MQTT_PASSWORD": SECRET})
    assert done.returncode == 1 and lines["broker"].startswith("FAIL") and "not authorized" in lines["broker"]
    assert SECRET not in done.stdout + done.stderr + good.stdout + good.stderr
    assert good_lines["broker"].startswith("WARN") and "(no TLS, user pump-1)" in good_lines["broker"]
    assert good.returncode == 0


def test_doctor_names_each_problem_and_its_fix(trained_bundle, tmp_path, mqtt_broker):
    done, lines = _doctor(trained_bundle, tmp_path, 'url = "mqtt://127.0.0.1:1"',
                          source="serial:/dev/ttyEDGEWATCH-none?baud=115200")
    assert done.returncode == 1
    assert lines["broker"].startswith("FAIL") and "connection refused" in lines["broker"]
    assert lines["source"].startswith("FAIL") and "does not exist" in lines["source"]
    assert "fix: plug the device in" in done.stdout
    assert done.stdout.rstrip().endswith("2 failure(s), 0 warning(s)")


def test_clock_behind_the_release_or_the_bundle_fails():
    assert check_clock(now=0).level is Level.FAIL
    assert "timedatectl set-ntp true" in check_clock(now=0).fix
    assert check_clock(now=time.time()).level in (Level.OK, Level.WARN)


# -- SIGTERM -------------------------------------------------------------------------


def _status_rows(received) -> dict:
    import json

    return json.loads([m for m in received if m.topic.endswith("/status")][-1].payload)


def test_sigterm_stops_the_source_and_scores_every_window_it_read(trained_bundle, tmp_path, mqtt_broker,
                                                                  mqtt_collector):
    device = unique_device()
    stream = _fast_stream(trained_bundle, tmp_path)
    total_rows = len(stream.read_text().splitlines()) - 1
    with mqtt_collector(mqtt_broker, f"edgewatch/{device}/#") as messages:
        proc = subprocess.Popen(
            [sys.executable, "-m", "edgewatch.infer", "--bundle", str(trained_bundle.bundle), "--source",
             f"file:{stream}", "--rate", "real", "--mqtt", mqtt_broker.url, "--device-id", device,
             "--outbox", str(tmp_path / "o.sqlite"), "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        assert wait_until(lambda: any(m.topic.endswith("/status") for m in messages.messages), timeout=30)
        time.sleep(1.5)
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
        took = time.monotonic() - sent
        time.sleep(0.3)
        received = messages.messages
    status = _status_rows(received)
    spec = load_bundle(trained_bundle.bundle).input
    assert 0 < status["rows"] < total_rows / 2  # the source stopped, long before the end of the file
    assert status["windows"] == (status["rows"] - spec.window) // spec.hop + 1  # every window read was scored
    assert took < 5
    assert [m.text for m in received if m.topic.endswith("/availability")][-1] == "offline"


def test_sigterm_with_the_broker_down_keeps_every_alert_on_disk(trained_bundle, tmp_path, mqtt_collector):
    device, outbox = unique_device(), tmp_path / "o.sqlite"
    stream = _fast_stream(trained_bundle, tmp_path)
    with LocalBroker() as broker:
        with mqtt_collector(broker, f"edgewatch/{device}/alerts") as alerts:
            proc = subprocess.Popen(
                [sys.executable, "-m", "edgewatch.infer", "--bundle", str(trained_bundle.bundle), "--source",
                 f"file:{stream}", "--rate", "real", "--mqtt", broker.url, "--device-id", device,
                 "--outbox", str(outbox), "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            alerts.wait_for(1, timeout=30)
        broker.stop()

        def waiting() -> int:
            with sqlite3.connect(outbox) as db:
                return db.execute("SELECT count(*) FROM outbox").fetchone()[0]

        assert wait_until(lambda: waiting() >= 1, timeout=30)
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
        stderr = proc.stderr.read()
    assert code == 3, stderr
    assert f"alert(s) were not acknowledged by the broker; they stay in {outbox}" in stderr
    assert waiting() >= 1
