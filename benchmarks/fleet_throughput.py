"""Part 1 of benchmarks/fleet.py: one device's sustained rate against raw paho, and the durability lag."""

from __future__ import annotations

import argparse
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from fleet_common import Consumers, make_alert, open_sink, percentile, wait_until

from edge.alerts import Alert
from edge.outbox import Outbox
from edge.sinks import MqttConfig
from edgewatch.broker import LocalBroker


def raw_paho_rate(broker: LocalBroker, alerts: list[Alert], inflight: int) -> dict:
    """One paho client publishes every alert at QoS 1; the clock stops at the last PUBACK.

    The same checking subscriber as for the sink runs in this process, so both share the CPU alike.
    """
    done = threading.Semaphore(0)
    topic = f"edgewatch/{alerts[0].device}/alerts"
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="fleet-raw-paho", protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(inflight)
    client.on_publish = lambda *args: done.release()
    with Consumers(broker, 1, topic) as check:
        client.connect(broker.host, broker.port)
        client.loop_start()
        try:
            start = time.perf_counter()
            for alert in alerts:
                client.publish(topic, alert.to_json().encode(), qos=1)
            acked = sum(done.acquire(timeout=30) for _ in alerts)
            elapsed = time.perf_counter() - start
        finally:
            client.disconnect()
            client.loop_stop()
        wait_until(lambda: len(check.first_seen()) >= len(alerts), timeout=10)
        received = check.first_seen()
    return {"variant": "raw paho QoS 1 (to_json + publish)", "messages": len(alerts), "acked": acked,
            "seconds": elapsed, "accept_per_s": None, "per_s": acked / elapsed,
            "lost": sum(1 for a in alerts if a.id not in received), "duplicates": len(check.received) - len(received)}


def sink_rate(broker: LocalBroker, alerts: list[Alert], outbox: Outbox, variant: str) -> dict:
    """The sink publishes every alert as fast as it can; the clock stops when the outbox is empty."""
    device = alerts[0].device
    with Consumers(broker, 1, f"edgewatch/{device}/alerts") as check:
        sink = open_sink({"url": broker.url, "homeassistant": False}, device, outbox)
        start = time.perf_counter()
        for alert in alerts:
            sink.publish(alert)
        accepted = time.perf_counter() - start
        drained = wait_until(lambda: sink.outstanding() == 0, timeout=120, poll=0.01)
        elapsed = time.perf_counter() - start
        report = sink.close(timeout=5)
        wait_until(lambda: len(check.first_seen()) >= len(alerts), timeout=10)
        received = check.first_seen()
    outbox.close()
    lost = sum(1 for a in alerts if a.id not in received)
    return {"variant": variant, "messages": len(alerts), "acked": report.delivered, "seconds": elapsed,
            "accept_per_s": len(alerts) / accepted, "per_s": len(alerts) / elapsed if drained else 0.0,
            "lost": lost, "duplicates": len(check.received) - len(received)}


def make_outbox(path: Path, kind: str) -> Outbox:
    """``shipped``: the Outbox as edge-infer uses it; ``full``: what-if with an fsync inside every put
    (synchronous=FULL, the outbox before the sync thread); ``memory``: no disk at all."""
    if kind == "memory":
        return Outbox(Path(":memory:"))
    outbox = Outbox(path)
    if kind == "full":
        outbox._db.execute("PRAGMA synchronous=FULL")  # what-if only
    return outbox


def run_throughput(args: argparse.Namespace, workdir: Path) -> list[dict]:
    rows = []
    with LocalBroker() as broker:
        for variant, kind in (("MqttSink + Outbox (shipped: WAL + sync thread)", "shipped"),
                              ("what-if: same, fsync in every put (FULL)", "full"),
                              ("what-if: same, in-memory outbox (no disk)", "memory")):
            device = f"bench-{kind}"
            alerts = [make_alert(device, i) for i in range(args.messages)]
            rows.append(sink_rate(broker, alerts, make_outbox(workdir / f"{kind}.sqlite", kind), variant))
            print(f"  {variant}: {rows[-1]['per_s']:.0f} alerts/s", flush=True)
        raw_alerts = [make_alert("raw-paho", i) for i in range(args.messages)]
        raw = raw_paho_rate(broker, raw_alerts, inflight=MqttConfig(host="x").inflight)
    for row in rows:
        row["ratio_to_raw"] = row["per_s"] / raw["per_s"]
    return [raw, *rows]


def durability_lag(workdir: Path, alerts: int = 200, burst: int = 2000) -> dict:
    """Milliseconds from ``put()`` returning to the alert being flushed to the disk.

    Isolated: one alert at a time, each waited for (an alert every few seconds looks like this).
    Burst: ``burst`` alerts put back to back, then the wait for the last one to be flushed.
    """
    outbox = Outbox(workdir / "lag.sqlite")
    payload = make_alert("lag", 0).to_json().encode()
    isolated = []
    for _ in range(alerts):
        outbox.put("t", payload, 1)
        began = time.perf_counter()
        outbox.wait_durable()
        isolated.append((time.perf_counter() - began) * 1000)
    for _ in range(burst):
        outbox.put("t", payload, 1)
    began = time.perf_counter()
    outbox.wait_durable()
    burst_ms = (time.perf_counter() - began) * 1000
    outbox.close()
    return {"isolated_ms": {q: percentile(isolated, q) for q in (50, 99, 100)}, "burst": burst,
            "burst_tail_ms": burst_ms}


def print_durability(lag: dict) -> None:
    iso = lag["isolated_ms"]
    print(f"\nOutbox durability lag (put() returned -> flushed to disk; a power cut in between loses the alert, "
          f"a crash does not)\n  isolated alerts: p50 {iso[50]:.2f} ms, p99 {iso[99]:.2f} ms, max {iso[100]:.2f} ms; "
          f"after a burst of {lag['burst']}: {lag['burst_tail_ms']:.2f} ms")


def print_throughput(rows: list[dict]) -> None:
    print(f"\nOne device, sustained: {rows[0]['messages']} alerts published as fast as possible until all "
          f"PUBACKed (in-flight window {MqttConfig(host='x').inflight})")
    print(f"  {'variant':<52} {'accept/s':>9} {'acked/s':>9} {'x raw':>7} {'lost':>5} {'dup':>4}")
    for row in rows:
        accept = f"{row['accept_per_s']:.0f}" if row["accept_per_s"] else "-"
        ratio = f"{row['ratio_to_raw']:.3f}" if "ratio_to_raw" in row else "1"
        lost = row["lost"]
        print(f"  {row['variant']:<52} {accept:>9} {row['per_s']:>9.0f} {ratio:>7} {lost:>5} "
              f"{row.get('duplicates', 0):>4}")
    shipped = rows[1]
    verdict = "MEETS" if shipped["ratio_to_raw"] >= 1 / 3 and shipped["lost"] == 0 else "MISSES"
    print(f"  target >= 1/3 of raw paho with zero loss: shipped outbox {verdict} it "
          f"({shipped['ratio_to_raw']:.3f}, {shipped['lost']} lost)")
