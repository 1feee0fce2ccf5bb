"""TLS, passwords and the config file, against real Mosquitto listeners."""

from __future__ import annotations

import time

import pytest

from certs import make_certificates
from conftest import run_cli
from edge.errors import BrokerError, ConfigError
from edge.settings import InferSettings
from edge.sinks import MqttConfig, MqttSink
from edgewatch.broker import LocalBroker, write_password_file
from test_mqtt_sink import make_alert, unique_device

SECRET = "s3cret-Pump-7"


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return make_certificates(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def tls_broker(certs):
    with LocalBroker(tls=(certs.ca, certs.server_cert, certs.server_key), require_certificate=True) as broker:
        yield broker


@pytest.fixture(scope="module")
def password_broker(tmp_path_factory):
    path = write_password_file(tmp_path_factory.mktemp("pw") / "passwd", {"pump-1": SECRET})
    with LocalBroker(password_file=path) as broker:
        yield broker


def _sink(broker, **options):
    return MqttSink(MqttConfig.from_url(broker.url, device_id=unique_device(), connect_timeout=3, **options))


def test_tls_with_client_certificate_delivers(tls_broker, certs, mqtt_collector):
    sink = _sink(tls_broker, ca_file=str(certs.ca), cert_file=str(certs.client_cert), key_file=str(certs.client_key))
    with sink:
        sink.publish(make_alert(1, sink.config.device_id))
    assert sink.last_report.delivered == 1


def test_tls_without_client_certificate_is_refused_in_one_line(tls_broker, certs):
    with pytest.raises(BrokerError) as caught:
        _sink(tls_broker, ca_file=str(certs.ca)).open()
    assert "\n" not in str(caught.value) and "client certificate" in str(caught.value)


def test_tls_with_an_unknown_ca_is_refused(tls_broker, certs):
    with pytest.raises(BrokerError) as caught:
        _sink(tls_broker, ca_file=str(certs.other_ca), cert_file=str(certs.client_cert),
              key_file=str(certs.client_key)).open()
    assert "failed verification" in str(caught.value)


def test_hostname_is_verified_and_insecure_skips_it_loudly(certs, caplog):
    with LocalBroker(tls=(certs.ca, certs.wrong_host_cert, certs.wrong_host_key)) as broker:
        with pytest.raises(BrokerError) as caught:
            _sink(broker, ca_file=str(certs.ca)).open()
        assert "not valid for '127.0.0.1'" in str(caught.value)
        with _sink(broker, ca_file=str(certs.ca), insecure=True):
            pass
    assert any("INSECURE" in r.message for r in caplog.records)


def test_tls_files_on_a_plain_url_are_a_config_error(certs):
    with pytest.raises(ConfigError):
        MqttConfig.from_url("mqtt://127.0.0.1:1883", device_id="d", ca_file=str(certs.ca))


def _infer(trained_bundle, *args, env=None):
    short = trained_bundle.data.stream_csv.parent / "short.csv"
    if not short.exists():
        short.write_text("\n".join(trained_bundle.data.stream_csv.read_text().splitlines()[:300]) + "\n")
    return run_cli("edgewatch.infer", "--bundle", str(trained_bundle.bundle), "--source", f"file:{short}",
                   "--quiet", *args, env=env, timeout=120)


def test_wrong_password_gives_one_line_and_never_shows_the_secret(trained_bundle, password_broker, tmp_path):
    done = _infer(trained_bundle, "--mqtt", password_broker.url, "--outbox", str(tmp_path / "o.sqlite"),
                  env={"EDGEWATCH_MQTT_USERNAME": "pump-1", "EDGEWATCH_MQTT_PASSWORD": SECRET + "x"})
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 1 and len(lines) == 1 and "not authorized" in lines[0]
    assert SECRET not in done.stderr + done.stdout


def test_password_from_the_config_file_connects_and_stays_out_of_output(trained_bundle, password_broker, tmp_path):
    config = tmp_path / "edgewatch.toml"
    config.write_text(f'device_id = "pump-1"\noutbox = "{tmp_path / "o.sqlite"}"\n\n'
                      f'[mqtt]\nurl = "{password_broker.url}"\nusername = "pump-1"\npassword = "{SECRET}"\n')
    config.chmod(0o600)
    done = _infer(trained_bundle, "--config", str(config))
    assert done.returncode == 0, done.stderr
    assert "alert messages delivered" in done.stderr
    assert SECRET not in done.stderr + done.stdout
    assert SECRET not in repr(InferSettings.from_toml(config))


def test_config_file_and_flags_fill_the_same_settings(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('bundle = "b"\nsource = "file:x.csv"\nrate = "real"\noutbox_max_count = 7\n[decision]\nk = 2\n'
                      'end_ratio = 10.0\n[mqtt]\nurl = "mqtt://127.0.0.1:1"\n')
    settings = InferSettings.from_toml(config).with_overrides(rate="max", n=4, mqtt={"topic_prefix": "site"})
    assert (settings.rate, settings.k, settings.n, settings.source) == ("max", 2, 4, "file:x.csv")
    assert settings.end_ratio == 10.0
    assert settings.with_overrides(end_ratio=3.0).end_ratio == 3.0
    assert settings.mqtt.topic_prefix == "site" and settings.mqtt.url == "mqtt://127.0.0.1:1"
    assert settings.outbox_limits().max_count == 7
    config.write_text('bundel = "typo"\n')
    with pytest.raises(ConfigError, match="bundel"):
        InferSettings.from_toml(config)


def test_availability_reads_online_again_after_a_broker_restart(mqtt_collector):
    device = unique_device()
    with LocalBroker(persistence=True) as broker:
        with MqttSink(MqttConfig.from_url(broker.url, device_id=device)) as sink:
            broker.stop()
            time.sleep(0.2)
            broker.start()
            deadline = time.monotonic() + 10
            while sink.connects < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert sink.connects == 2
            with mqtt_collector(broker, f"edgewatch/{device}/availability") as retained:
                state = retained.wait_for(1)[-1]
            assert (state.text, state.retain) == ("online", True)
