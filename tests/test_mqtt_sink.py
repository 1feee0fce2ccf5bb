"""MqttSink against a real Mosquitto (see the ``mqtt_broker`` fixture in conftest)."""

from __future__ import annotations

import json
import shutil
import socket
import time
import uuid

import pytest

from edge.alerts import Alert
from edge.errors import BrokerError, ConfigError, SinkError
from edge.sinks import DeliveryReport, JsonLinesSink, MqttConfig, MqttSink
from edgewatch.broker import LocalBroker, write_password_file


def make_alert(i: int, device: str = "pump-1") -> Alert:
    return Alert(device, "fan-ae", "int8", 0.9 + i / 1000, 0.5, i * 100, i * 100 + 1024, None, None, "file:test.csv")


def unique_device() -> str:
    return f"dev-{uuid.uuid4().hex[:8]}"


def config_for(broker: LocalBroker, device: str, **options: object) -> MqttConfig:
    return MqttConfig.from_url(broker.url, device_id=device, connect_timeout=3.0, **options)


def wait_until(predicate, timeout: float = 5.0) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- delivery -----------------------------------------------------------------


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_alerts_arrive_in_order_as_valid_json(mqtt_broker, mqtt_collector, protocol):
    device = unique_device()
    alerts = [make_alert(i, device) for i in range(50)]
    with mqtt_collector(mqtt_broker, f"edgewatch/{device}/alerts") as collector:
        sink = MqttSink(config_for(mqtt_broker, device, protocol=protocol))
        with sink:
            for alert in alerts:
                sink.publish(alert)
        received = collector.wait_for(len(alerts))
    assert sink.last_report == DeliveryReport(accepted=50, delivered=50, undelivered=0)
    assert [json.loads(m.payload)["id"] for m in received] == [a.id for a in alerts]
    assert [Alert.from_json(m.payload) for m in received] == alerts


def test_availability_is_online_while_connected_and_offline_after_close(mqtt_broker, mqtt_collector):
    device = unique_device()
    topic = f"edgewatch/{device}/availability"
    sink = MqttSink(config_for(mqtt_broker, device))
    sink.open()
    with mqtt_collector(mqtt_broker, topic) as late_subscriber:  # subscribes after "online" was sent
        first = late_subscriber.wait_for(1)[0]
        assert (first.text, first.retain) == ("online", True)
        sink.close()
        assert late_subscriber.wait_for(2)[1].text == "offline"
    with mqtt_collector(mqtt_broker, topic) as after_close:
        last = after_close.wait_for(1)[0]
        assert (last.text, last.retain) == ("offline", True)


def test_topic_prefix_is_configurable(mqtt_broker, mqtt_collector):
    device = unique_device()
    with mqtt_collector(mqtt_broker, f"site7/edgewatch/{device}/alerts") as collector:
        with MqttSink(config_for(mqtt_broker, device, topic_prefix="site7/edgewatch")) as sink:
            sink.publish(make_alert(1, device))
        collector.wait_for(1)


def test_alert_published_during_outage_is_delivered_after_restart(mqtt_collector):
    """Paho keeps unacknowledged QoS 1 messages in memory and re-sends them after reconnecting.

    The broker keeps the collector's persistent session across the restart, so the
    collector gets the alert whichever of the two clients reconnects first.
    """
    device = unique_device()
    with LocalBroker(persistence=True) as broker:
        with mqtt_collector(broker, f"edgewatch/{device}/alerts", persistent=True) as collector:
            sink = MqttSink(config_for(broker, device))
            sink.open()
            sink.publish(before := make_alert(1, device))
            assert collector.wait_for(1)[0].text == before.to_json()
            assert wait_until(lambda: sink.outstanding() == 0)  # its PUBACK may trail the delivery
            port = broker.port
            broker.stop()
            assert wait_until(lambda: not sink.connected), "sink did not notice the broker stopped"
            sink.publish(during := make_alert(2, device))
            assert sink.outstanding() == 1
            time.sleep(0.3)
            broker.start()
            assert broker.port == port
            report = sink.close(timeout=10)
            received = collector.wait_for(2, timeout=10)
    assert report == DeliveryReport(accepted=2, delivered=2, undelivered=0)
    assert sink.connects == 2
    assert [Alert.from_json(m.payload).id for m in received] == [before.id, during.id]


def test_close_while_broker_is_down_reports_undelivered():
    device = unique_device()
    with LocalBroker() as broker:
        sink = MqttSink(config_for(broker, device))
        sink.open()
        broker.stop()
        assert wait_until(lambda: not sink.connected)
        sink.publish(make_alert(1, device))
        started = time.monotonic()
        report = sink.close(timeout=0.5)
    assert report == DeliveryReport(accepted=1, delivered=0, undelivered=1)
    assert time.monotonic() - started < 2.5


# -- connection errors ----------------------------------------------------------


def test_nothing_listening_raises_one_line_broker_error():
    port = unused_port()
    sink = MqttSink(MqttConfig("127.0.0.1", port, device_id="d1", connect_timeout=2.0))
    with pytest.raises(BrokerError) as caught:
        sink.open()
    message = str(caught.value)
    assert "\n" not in message
    assert f"127.0.0.1:{port}" in message
    assert "connection refused" in message and "--mqtt" in message


def test_silent_server_times_out_with_one_line_broker_error():
    with socket.socket() as server:  # accepts TCP but never speaks MQTT
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        sink = MqttSink(MqttConfig("127.0.0.1", port, device_id="d1", connect_timeout=0.5))
        with pytest.raises(BrokerError, match=rf"^no CONNACK from 127\.0\.0\.1:{port} within 0\.5s[^\n]*$"):
            sink.open()


@pytest.fixture(scope="module")
def password_broker(tmp_path_factory):
    if shutil.which("mosquitto_passwd", path="/usr/bin:/usr/sbin:/bin") is None:
        pytest.skip("mosquitto_passwd is not installed (apt-get install mosquitto)")
    password_file = write_password_file(tmp_path_factory.mktemp("mqtt") / "passwd", {"alice": "s3cret"})
    with LocalBroker(password_file=password_file) as broker:
        yield broker


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
@pytest.mark.parametrize("credentials", [{}, {"username": "alice", "password": "wrong"}], ids=["anonymous", "bad"])
def test_password_broker_refuses_with_clear_error(password_broker, protocol, credentials):
    sink = MqttSink(config_for(password_broker, unique_device(), protocol=protocol, **credentials))
    with pytest.raises(BrokerError) as caught:
        sink.open()
    message = str(caught.value)
    assert "\n" not in message
    assert f"127.0.0.1:{password_broker.port}" in message
    assert "not authorized: check username/password" in message
    assert "wrong" not in message


def test_password_broker_accepts_good_credentials(password_broker, mqtt_collector):
    device = unique_device()
    config = config_for(password_broker, device, username="alice", password="s3cret")
    with MqttSink(config) as sink:
        sink.publish(make_alert(1, device))
    assert sink.last_report == DeliveryReport(1, 1, 0)


def test_publish_requires_open_sink(mqtt_broker):
    sink = MqttSink(config_for(mqtt_broker, unique_device()))
    with pytest.raises(SinkError):
        sink.publish(make_alert(1))
    assert sink.close() == DeliveryReport(0, 0, 0)


# -- config -----------------------------------------------------------------------


def test_repr_never_shows_the_password():
    config = MqttConfig.from_url("mqtt://alice:hunter2@broker.local:1884", device_id="d1")
    assert (config.host, config.port, config.username, config.password) == ("broker.local", 1884, "alice", "hunter2")
    assert "hunter2" not in repr(config)
    assert "hunter2" not in repr(MqttSink(config))


def test_from_url_defaults_port_1883():
    assert MqttConfig.from_url("mqtt://127.0.0.1", device_id="d1").port == 1883


@pytest.mark.parametrize(
    "url", ["http://x", "mqtt://", "mqtt://host:notaport", "mqtt://host:1883/path", "host:1883"]
)
def test_from_url_rejects_bad_urls_with_one_line_config_error(url):
    with pytest.raises(ConfigError) as caught:
        MqttConfig.from_url(url, device_id="d1")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("device", ["", "a/b", "a+b", "#"])
def test_device_id_must_be_one_topic_level(device):
    with pytest.raises(ConfigError):
        MqttConfig("127.0.0.1", device_id=device)


# -- stdout sink ------------------------------------------------------------------


def test_json_lines_sink_writes_one_alert_per_line(tmp_path):
    alerts = [make_alert(i) for i in range(3)]
    with open(tmp_path / "out.jsonl", "w") as stream:
        with JsonLinesSink(stream) as sink:
            for alert in alerts:
                sink.publish(alert)
    lines = (tmp_path / "out.jsonl").read_text().splitlines()
    assert [Alert.from_json(line) for line in lines] == alerts
    assert sink.last_report == DeliveryReport(3, 3, 0)


def test_json_lines_sink_reports_a_closed_stream(tmp_path):
    stream = open(tmp_path / "out.jsonl", "w")
    sink = JsonLinesSink(stream)
    sink.open()
    stream.close()
    with pytest.raises(SinkError):
        sink.publish(make_alert(1))
    assert sink.close() == DeliveryReport(1, 0, 1)
