"""Alerts are never lost: the durable outbox, broker restarts, and edge-infer being killed."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.alerts import Alert
from edge.outbox import Outbox, OutboxLimits
from edge.sinks import MqttConfig, MqttSink
from edgewatch.broker import LocalBroker
from test_mqtt_sink import make_alert, unique_device, wait_until


# -- the outbox itself ------------------------------------------------------------


def test_outbox_keeps_rows_in_order_across_reopen(tmp_path):
    path = tmp_path / "o.sqlite"
    box = Outbox(path)
    ids = [box.put("t", f"m{i}".encode(), 1) for i in range(5)]
    box.delete(ids[1])
    box.close()
    again = Outbox(path)
    assert [r.payload for r in again.pending()] == [b"m0", b"m2", b"m3", b"m4"]
    assert [r.id for r in again.pending(after_id=ids[2])] == ids[3:]


def test_outbox_drops_oldest_over_its_limits_and_counts_them(tmp_path):
    box = Outbox(tmp_path / "o.sqlite", OutboxLimits(max_count=3, max_bytes=10_000))
    for i in range(5):
        box.put("t", f"m{i}".encode(), 1)
    assert [r.payload for r in box.pending()] == [b"m2", b"m3", b"m4"]
    assert box.dropped == 2
    by_size = Outbox(tmp_path / "s.sqlite", OutboxLimits(max_count=100, max_bytes=25))
    for i in range(4):
        by_size.put("t", b"x" * 10, 1)
    assert by_size.depth == 2 and by_size.dropped == 2


def test_outbox_drops_rows_older_than_max_age(tmp_path):
    box = Outbox(tmp_path / "o.sqlite", OutboxLimits(max_age_s=0.2))
    box.put("t", b"old", 1)
    time.sleep(0.3)
    box.put("t", b"new", 1)
    assert [r.payload for r in box.pending()] == [b"new"] and box.dropped == 1


def _on_disk(path) -> tuple[int, int]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT COUNT(*), COALESCE(SUM(LENGTH(payload)), 0) FROM outbox").fetchone()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(st.integers(1, 40), st.lists(st.integers(0, 30), max_size=6), st.just("reopen")),
                max_size=30))
def test_outbox_depth_and_bounds_agree_with_the_disk(tmp_path_factory, operations):
    """Count and bytes are kept in memory; after any puts, deletes, drops and reopenings they match the file."""
    path = tmp_path_factory.mktemp("acct") / "o.sqlite"
    limits = OutboxLimits(max_count=12, max_bytes=200)
    box, ids = Outbox(path, limits), []
    for op in operations:
        if op == "reopen":
            box.close()
            box = Outbox(path, limits)
        elif isinstance(op, int):
            ids.append(box.put("t", b"x" * op, 1))
        else:
            box.delete(*[ids[i] for i in op if i < len(ids)])
        count, size = _on_disk(path)
        assert box.depth == count <= limits.max_count
        assert box._bytes == size and (size <= limits.max_bytes or count == 1)
    dropped = box.dropped
    box.close()
    assert Outbox(path, limits).dropped == dropped


def test_outbox_flushes_the_log_to_the_disk_after_a_put(tmp_path, monkeypatch):
    """The sync thread fsyncs the write-ahead log; wait_durable returns once it has."""
    synced: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    box = Outbox(tmp_path / "o.sqlite")
    synced.clear()
    box.put("t", b"alert", 1)
    assert box.wait_durable(timeout=5)
    assert str(tmp_path / "o.sqlite-wal") in synced
    box.close()


def test_outbox_put_survives_the_process_being_killed_right_after(tmp_path):
    """put() returns only once the row is committed: a SIGKILL right after loses nothing."""
    path = tmp_path / "o.sqlite"
    script = ("import os, signal, sys; from edge.outbox import Outbox; box = Outbox(sys.argv[1]); "
              "[box.put('t', b'm%d' % i, 1) for i in range(500)]; os.kill(os.getpid(), signal.SIGKILL)")
    done = subprocess.run([sys.executable, "-c", script, str(path)], timeout=60)
    assert done.returncode == -signal.SIGKILL
    assert [r.payload for r in Outbox(path).pending(limit=1000)] == [b"m%d" % i for i in range(500)]


# -- the sink through broker restarts ---------------------------------------------


def test_thousands_of_alerts_survive_repeated_broker_restarts(tmp_path, mqtt_collector):
    """3,000 alerts, the broker stopped and restarted three times mid-stream: none lost, order kept."""
    device = unique_device()
    alerts = [make_alert(i, device) for i in range(3000)]
    with LocalBroker(persistence=True) as broker:
        with mqtt_collector(broker, f"edgewatch/{device}/alerts", persistent=True) as collector:
            sink = MqttSink(MqttConfig.from_url(broker.url, device_id=device), Outbox(tmp_path / "o.sqlite"))
            sink.open()
            for part in range(3):
                for alert in alerts[part * 1000:(part + 1) * 1000]:
                    sink.publish(alert)
                assert wait_until(lambda: sink.outstanding() <= 600, timeout=30)  # mid-delivery
                broker.stop()
                assert wait_until(lambda: not sink.connected)
                time.sleep(0.2)
                broker.start()
            report = sink.close(timeout=60)
            received = collector.wait_for(len(alerts), timeout=30)
    ids = [Alert.from_json(m.payload).id for m in received]
    first_seen = list(dict.fromkeys(ids))
    assert first_seen == [a.id for a in alerts]  # nothing lost, order kept
    # QoS 1 redelivery on the device's leg: the sink re-sends only what had no PUBACK, at most what was in flight
    # (20) at each of the 3 restarts. Copies mosquitto itself re-sends to the persistent collector carry the DUP
    # flag and are not counted: their number is the broker's (66, and over 236, in two runs on a machine loaded by
    # other jobs), not something the device controls.
    from_device = [Alert.from_json(m.payload).id for m in received if not m.dup]
    assert sum(n - 1 for n in Counter(from_device).values()) <= 3 * 20
    assert report.undelivered == 0 and sink.connects == 4
    assert Outbox(tmp_path / "o.sqlite").depth == 0


def test_alerts_left_in_the_outbox_are_sent_first_by_the_next_run(tmp_path, mqtt_broker, mqtt_collector):
    device = unique_device()
    box = Outbox(tmp_path / "o.sqlite")
    old = [make_alert(i, device) for i in range(3)]
    for alert in old:
        box.put(f"edgewatch/{device}/alerts", alert.to_json().encode(), 1)
    box.close()
    with mqtt_collector(mqtt_broker, f"edgewatch/{device}/alerts") as collector:
        with MqttSink(MqttConfig.from_url(mqtt_broker.url, device_id=device), Outbox(tmp_path / "o.sqlite")) as sink:
            sink.publish(new := make_alert(9, device))
        received = collector.wait_for(4)
    assert [Alert.from_json(m.payload).id for m in received] == [a.id for a in old] + [new.id]
    assert sink.last_report.accepted == 4 and sink.last_report.delivered == 4


# -- edge-infer killed with SIGKILL ------------------------------------------------


def _fast_stream(trained_bundle, tmp_path):
    """The test stream with timestamps 2 ms apart, so --rate real replays it in about 8 s."""
    lines = trained_bundle.data.stream_csv.read_text().splitlines()
    out = [lines[0]]
    for i, line in enumerate(lines[1:]):
        out.append(f"{1_767_600_000 + i * 0.002:.3f}," + line.split(",", 1)[1])
    path = tmp_path / "fast.csv"
    path.write_text("\n".join(out) + "\n")
    return path


def _outbox_ids(path) -> list[str]:
    with sqlite3.connect(path) as db:
        return [Alert.from_json(bytes(p)).id for (p,) in db.execute("SELECT payload FROM outbox ORDER BY id")]


def test_every_alert_decided_before_sigkill_is_delivered_after_restart(trained_bundle, tmp_path, mqtt_collector):
    device, outbox = unique_device(), tmp_path / "outbox.sqlite"
    stream = _fast_stream(trained_bundle, tmp_path)
    infer = [sys.executable, "-m", "edgewatch.infer", "--bundle", str(trained_bundle.bundle), "--device-id", device,
             "--outbox", str(outbox), "--quiet"]
    with LocalBroker(persistence=True) as broker:
        with mqtt_collector(broker, f"edgewatch/{device}/alerts", persistent=True) as collector:
            proc = subprocess.Popen(infer + ["--source", f"file:{stream}", "--rate", "real", "--mqtt", broker.url],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            collector.wait_for(1, timeout=30)  # the first anomaly went through
            broker.stop()  # the next ones pile up in the outbox
            assert wait_until(lambda: outbox.exists() and len(_outbox_ids(outbox)) >= 2, timeout=30)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
            stranded = _outbox_ids(outbox)
            broker.start()
            quiet = tmp_path / "quiet.csv"  # a short normal stretch: no new alert
            quiet.write_text("\n".join(stream.read_text().splitlines()[:200]) + "\n")
            done = subprocess.run(infer + ["--source", f"file:{quiet}", "--mqtt", broker.url],
                                  capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, done.stderr
            received = collector.wait_for(1 + len(stranded), timeout=20)
    assert proc.returncode == -signal.SIGKILL
    ids = [Alert.from_json(m.payload).id for m in received]
    assert set(stranded) <= set(ids)
    assert len(set(ids)) == 1 + len(stranded)
    assert _outbox_ids(outbox) == []


def test_sigterm_ends_the_run_gracefully(trained_bundle, tmp_path, mqtt_broker, mqtt_collector):
    """SIGTERM: the window in flight is finished, the open event gets its end, offline is said, exit 0."""
    device, outbox = unique_device(), tmp_path / "outbox.sqlite"
    stream = _fast_stream(trained_bundle, tmp_path)
    with mqtt_collector(mqtt_broker, f"edgewatch/{device}/#") as messages:
        proc = subprocess.Popen(
            [sys.executable, "-m", "edgewatch.infer", "--bundle", str(trained_bundle.bundle), "--source",
             f"file:{stream}", "--rate", "real", "--mqtt", mqtt_broker.url, "--device-id", device,
             "--outbox", str(outbox), "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        assert wait_until(lambda: any(m.topic.endswith("/alerts") for m in messages.messages), timeout=30)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0, proc.stderr.read()
        time.sleep(0.3)
        received = messages.messages
    alerts = [Alert.from_json(m.payload) for m in received if m.topic.endswith("/alerts")]
    starts = {a.event_id for a in alerts if a.type == "start"}
    ends = {a.event_id for a in alerts if a.type == "end"}
    assert starts and starts == ends  # the event open at SIGTERM was closed with its end message
    assert alerts[-1].type == "end"
    availability = [m.text for m in received if m.topic.endswith("/availability")]
    assert availability[-1] == "offline"
    assert _outbox_ids(outbox) == []
