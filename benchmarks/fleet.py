"""Fleet benchmark: simulated devices -> one Mosquitto -> consumers on an MQTT 5 shared subscription.

One run (40-60 s on 2 cores; keep it under 3 minutes) measures, on 127.0.0.1 against a throw-away
Mosquitto started by ``edgewatch.broker.LocalBroker``:

1. **Sink throughput.** One device, an ``edge.sinks.MqttSink`` with its own on-disk
   ``edge.outbox.Outbox``, publishes ``--messages`` alerts as fast as it can; the clock stops when the
   broker has acknowledged all of them (outbox empty), and a subscriber checks that each arrived.
   Compared with raw paho QoS 1 (one client publishing the same payloads, waiting for every PUBACK,
   the same in-flight window of 20). Target: at least a third of raw paho's rate, zero loss. Two
   what-if rows show where the time goes: the same sink with an fsync inside every put
   (``synchronous=FULL``, what the outbox did before its sync thread), and with an in-memory outbox
   (no disk at all). Then the outbox's durability lag: how long after ``put()`` returns the alert is
   flushed to the disk (what a power cut could still take), for isolated alerts and after a burst.
2. **Fleet.** For each N in ``--devices`` (default 50 and 200): N devices, each an MqttSink with its
   own outbox file, connection and thread, send ``--alerts`` alerts at ``--rate`` alerts/s (random
   phase); ``--consumers`` paho MQTT 5 clients share ``$share/edgewatch/edgewatch/+/alerts``.
   Reported: delivered alerts/s, loss and duplicates by alert id, publish-to-receive latency (from
   just before ``MqttSink.publish`` to the first receipt by any consumer: p50, p99, max), how long
   ``publish()`` blocks its caller (p50, p99), and the CPU of Mosquitto, the devices and the
   consumers, busy and idle (all connected, nothing to send).

Run from the repository root::

    .venv/bin/python benchmarks/fleet.py
    .venv/bin/python benchmarks/fleet.py --devices 50,200 --alerts 20 --rate 2 --consumers 3 --json fleet.json
    .venv/bin/python benchmarks/fleet.py --parts fleet --fleet-outbox full     # an fsync inside every put
    .venv/bin/python benchmarks/fleet.py --parts throughput --messages 500      # a quick look

Read the fleet figures with care: every simulated device shares this machine's one disk and two
cores (real devices each have their own), and other work on the machine shows up in the tails, so
the load average is printed. The process exits 1 if any alert was lost. See docs/fleet.md.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import random
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import paho.mqtt.client as mqtt  # noqa: E402

from edge.alerts import Alert  # noqa: E402
from edge.outbox import Outbox  # noqa: E402
from edge.sinks import MqttConfig, MqttSink  # noqa: E402
from edgewatch.broker import LocalBroker, find_mosquitto  # noqa: E402

SHARED_FILTER = "$share/edgewatch/edgewatch/+/alerts"


# -- machine facts -------------------------------------------------------------


def _fsync_latency_ms(directory: Path, count: int = 100) -> float:
    """Median time of write + fsync of 512 bytes in ``directory`` (what a FULL commit waits for)."""
    path = directory / "fsync.probe"
    times = []
    with open(path, "wb") as f:
        for _ in range(count):
            t = time.perf_counter()
            f.write(b"x" * 512)
            f.flush()
            os.fsync(f.fileno())
            times.append(time.perf_counter() - t)
    path.unlink()
    return sorted(times)[len(times) // 2] * 1000


def machine_info(workdir: Path) -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mosquitto = subprocess.run([find_mosquitto(), "-h"], capture_output=True, text=True).stdout.splitlines()
    mounts = {parts[1]: parts[2] for parts in (line.split() for line in Path("/proc/mounts").read_text().splitlines())}
    mount = max((m for m in mounts if str(workdir.resolve()).startswith(m)), key=len)
    try:
        paho_version = version("paho-mqtt")
    except PackageNotFoundError:
        paho_version = "?"
    return {
        "platform": platform.platform(), "cpu": cpu, "cpu_count": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(), "paho_mqtt": paho_version, "sqlite": sqlite3.sqlite_version,
        "mosquitto": mosquitto[0] if mosquitto else "?", "outbox_fs": f"{mounts[mount]} on {mount}",
        "fsync_ms_median": round(_fsync_latency_ms(workdir), 3),
        "load_average_1m_at_start": round(os.getloadavg()[0], 2),
    }


def print_machine(info: dict) -> None:
    print(f"machine   {info['platform']}, {info['cpu']}, {info['cpu_count']} CPUs, {info['memory_gib']} GiB")
    print(f"software  Python {info['python']}, paho-mqtt {info['paho_mqtt']}, SQLite {info['sqlite']}, "
          f"{info['mosquitto']}")
    print(f"disk      outbox files on {info['outbox_fs']}; write+fsync of 512 B: {info['fsync_ms_median']:.2f} ms "
          f"(median)")
    print(f"load      1-minute load average at start: {info['load_average_1m_at_start']:.2f} "
          f"(other work on the machine skews every figure below)")


# -- helpers -------------------------------------------------------------------


def make_alert(device: str, i: int) -> Alert:
    return Alert(device, "fan-ae", "int8", 0.9 + i / 1000, 0.5, i * 100, i * 100 + 1024, None, None,
                 "bench:fleet", event_id=f"{device}-{i}")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def wait_until(predicate, timeout: float, poll: float = 0.01) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(poll)
    return True


class Consumers:
    """``count`` paho MQTT 5 clients on one topic filter (a shared subscription by default).

    ``on_message`` runs on each client's paho thread and only appends ``(payload, monotonic, index)``;
    :meth:`first_seen` parses the ids on the caller's thread.
    """

    def __init__(self, broker: LocalBroker, count: int, topic: str = SHARED_FILTER) -> None:
        self.received: list[tuple[bytes, float, int]] = []
        self._first: dict[str, float] = {}
        self._parsed = 0
        self._subscribed = threading.Semaphore(0)
        self._clients = []
        self._broker, self._topic = broker, topic
        for i in range(count):
            client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"fleet-consumer-{i}",
                                 protocol=mqtt.MQTTv5)
            client.on_connect = lambda c, u, f, reason, p: c.subscribe(topic, qos=1)
            client.on_subscribe = lambda *args: self._subscribed.release()
            client.on_message = self._handler(i)
            self._clients.append(client)

    def _handler(self, index: int):  # noqa: ANN202
        def on_message(client, userdata, msg) -> None:  # noqa: ANN001
            self.received.append((msg.payload, time.monotonic(), index))
        return on_message

    def __enter__(self) -> "Consumers":
        for client in self._clients:
            client.connect(self._broker.host, self._broker.port)
            client.loop_start()
        for _ in self._clients:
            if not self._subscribed.acquire(timeout=5):
                raise RuntimeError(f"consumer could not subscribe to {self._topic}")
        return self

    def __exit__(self, *exc: object) -> None:
        for client in self._clients:
            client.disconnect()
            client.loop_stop()

    def first_seen(self) -> dict[str, float]:
        """Alert id -> time of its first receipt (parses what arrived since the last call)."""
        end = len(self.received)
        for payload, at, _ in self.received[self._parsed:end]:
            self._first.setdefault(json.loads(payload)["id"], at)
        self._parsed = end
        return self._first

    def per_consumer(self) -> list[int]:
        counts = [0] * len(self._clients)
        for _, _, index in self.received:
            counts[index] += 1
        return counts


def open_sink(options: dict, device: str, outbox: Outbox) -> MqttSink:
    """An open MqttSink for ``device``; ``options`` holds ``url`` and any other MqttConfig field."""
    options = dict(options)
    sink = MqttSink(MqttConfig.from_url(options.pop("url"), device_id=device, **options), outbox)
    sink.open()
    return sink


# -- part 1: one device's sustained throughput ----------------------------------


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


# -- part 2: the fleet ---------------------------------------------------------------
#
# Devices live in worker processes of at most --per-process devices each: paho's loop uses select(),
# which fails on file descriptors >= 1024, and every device holds about 6 (socket, paho's wake-up
# socket pair, the SQLite file, its WAL and shared-memory index), so one process tops out near 170
# devices. Times are time.monotonic() (CLOCK_MONOTONIC), comparable across processes.


def _device_loop(sink: MqttSink, alerts: list[Alert], first_at: float, period: float,
                 sent: dict[str, float], blocked: list[float]) -> None:
    for j, alert in enumerate(alerts):
        delay = first_at + j * period - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        start = time.monotonic()
        sink.publish(alert)
        sent[alert.id] = start
        blocked.append(time.monotonic() - start)


def _close_all(sinks: list[MqttSink]) -> int:
    """Close every sink (in parallel); returns how many alerts stayed undelivered."""
    with ThreadPoolExecutor(16) as pool:
        reports = list(pool.map(lambda s: s.close(timeout=5), sinks))
    for sink in sinks:
        sink.outbox.close()
    return sum(r.undelivered for r in reports)


def fleet_worker(conn, url: str, devices: list[str], outdir: str, alerts: int, rate: float, seed: int,  # noqa: ANN001
                 outbox_kind: str) -> None:
    """One process of devices; steps driven by the parent over ``conn``: ready, go, sent, close, closed."""
    config = {"url": url, "homeassistant": False}
    with ThreadPoolExecutor(8) as pool:
        sinks = list(pool.map(lambda d: open_sink(config, d, make_outbox(Path(outdir) / f"{d}.sqlite", outbox_kind)),
                              devices))
    conn.send("ready")
    start_at = conn.recv()
    period, rng = 1.0 / rate, random.Random(seed)
    sent: dict[str, float] = {}
    blocked: list[float] = []
    threads = [threading.Thread(target=_device_loop, daemon=True,
                                args=(s, [make_alert(s.config.device_id, j) for j in range(alerts)],
                                      start_at + rng.random() * period, period, sent, blocked))
               for s in sinks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    conn.send((sent, blocked))
    conn.recv()  # close: the parent has what it waited for
    conn.send(_close_all(sinks))


class _CpuMeter:
    """CPU used by Mosquitto, the device workers and this process (the consumers), in % of one core.

    Read from /proc/<pid>/stat of this process and its children, so other work on the machine does not count.
    """

    def __init__(self) -> None:
        self._ticks, self._wall = self._read(), time.monotonic()

    @staticmethod
    def _read() -> dict[str, int]:
        me, ticks = os.getpid(), {"mosquitto": 0, "devices": 0, "consumers": 0}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                comm, rest = (entry / "stat").read_text().rsplit(")", 1)
            except OSError:
                continue
            fields = rest.split()
            if int(entry.name) == me or int(fields[1]) == me:
                role = ("consumers" if int(entry.name) == me else
                        "mosquitto" if comm.endswith("(mosquitto") else "devices")
                ticks[role] += int(fields[11]) + int(fields[12])  # utime + stime
        return ticks

    def percent(self) -> dict[str, float]:
        now, wall = self._read(), time.monotonic() - self._wall
        share = {role: 100 * (now[role] - self._ticks[role]) / os.sysconf("SC_CLK_TCK") / wall for role in now}
        return {**share, "total": sum(share.values())}


def _start_workers(broker: LocalBroker, n: int, args: argparse.Namespace, workdir: Path) -> list:
    ctx = multiprocessing.get_context("spawn")  # no fork of a process running paho threads
    outdir = tempfile.mkdtemp(prefix=f"fleet-{n}-", dir=workdir)
    devices = [f"fleet-{i:03d}" for i in range(n)]
    workers = []
    for k in range(0, n, args.per_process):
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=fleet_worker, daemon=True, args=(
            child, broker.url, devices[k:k + args.per_process], outdir, args.alerts, args.rate, k, args.fleet_outbox))
        proc.start()
        workers.append((proc, parent))
    for proc, conn in workers:
        if not conn.poll(60):
            raise RuntimeError(f"fleet worker {proc.pid} did not connect its devices in 60 s")
        conn.recv()
    return workers


def run_fleet(n: int, args: argparse.Namespace, workdir: Path) -> dict:
    with LocalBroker() as broker, Consumers(broker, args.consumers) as consumers:
        began = time.monotonic()
        workers = _start_workers(broker, n, args, workdir)
        connect_s = time.monotonic() - began
        time.sleep(0.5)
        idle_meter = _CpuMeter()
        time.sleep(2.0)
        idle_cpu = idle_meter.percent()
        start, busy_meter = time.monotonic() + 0.5, _CpuMeter()
        for _, conn in workers:
            conn.send(start)
        sent: dict[str, float] = {}
        blocked: list[float] = []
        for proc, conn in workers:
            if not conn.poll(args.alerts / args.rate + 60):
                raise RuntimeError(f"fleet worker {proc.pid} did not finish sending")
            part_sent, part_blocked = conn.recv()
            sent.update(part_sent)
            blocked += part_blocked
        sending_s = time.monotonic() - start
        wait_until(lambda: len(consumers.first_seen()) >= len(sent), timeout=args.drain_timeout, poll=0.05)
        first, busy_cpu = consumers.first_seen(), busy_meter.percent()
        undelivered = 0
        for proc, conn in workers:
            conn.send("close")
            undelivered += conn.recv() if conn.poll(30) else -1
            proc.join(10)
        per_consumer, received = consumers.per_consumer(), len(consumers.received)
    latencies = [(first[i] - t) * 1000 for i, t in sent.items() if i in first]
    last = max(first.values()) if first else start + 1
    return {
        "devices": n, "processes": len(workers), "alerts_per_device": args.alerts, "rate_per_device": args.rate,
        "offered_per_s": n * args.rate, "sent": len(sent), "received_unique": len(first),
        "lost": sum(1 for i in sent if i not in first), "duplicates": received - len(first),
        "left_in_outboxes": undelivered, "delivered_per_s": len(first) / (last - start),
        "sending_s": sending_s, "latency_ms": {q: percentile(latencies, q) for q in (50, 99, 100)},
        "publish_blocks_ms": {q: percentile([b * 1000 for b in blocked], q) for q in (50, 99)},
        "connect_s": connect_s, "idle_cpu_pct": idle_cpu, "busy_cpu_pct": busy_cpu,
        "consumers": args.consumers, "per_consumer": per_consumer, "outbox": args.fleet_outbox,
    }


def print_fleet(rows: list[dict], consumers: int) -> None:
    outbox = {"shipped": "shipped outbox (WAL + sync thread)", "full": "WHAT-IF outbox with an fsync in every put",
              "memory": "WHAT-IF in-memory outbox"}[rows[0]["outbox"]]
    print(f"\nFleet: devices ({outbox}, all on this machine's one disk) -> one Mosquitto -> "
          f"{consumers} consumers on {SHARED_FILTER} (QoS 1)")
    head = (f"  {'devices':>7} {'offered/s':>9} {'deliv/s':>8} {'sent':>6} {'lost':>5} {'dup':>4} "
            f"{'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'put p50':>8} {'put p99':>8} {'idle CPU':>8} {'busy CPU':>8}")
    print(head)
    for r in rows:
        lat, put = r["latency_ms"], r["publish_blocks_ms"]
        print(f"  {r['devices']:>7} {r['offered_per_s']:>9.0f} {r['delivered_per_s']:>8.0f} {r['sent']:>6} "
              f"{r['lost']:>5} {r['duplicates']:>4} {lat[50]:>8.1f} {lat[99]:>8.1f} {lat[100]:>8.1f} "
              f"{put[50]:>8.1f} {put[99]:>8.1f} {r['idle_cpu_pct']['total']:>7.0f}% {r['busy_cpu_pct']['total']:>7.0f}%")
    print("  latency: from just before MqttSink.publish() to the first receipt; put: how long publish() "
          "blocks its caller;\n  CPU: Mosquitto + device workers + consumers, in % of one core; "
          "idle = all connected, nothing to send")
    for r in rows:
        print(f"  {r['devices']} devices in {r['processes']} process(es): connected in {r['connect_s']:.1f} s, "
              f"sent for {r['sending_s']:.1f} s, "
              f"consumers got {r['per_consumer']}, {r['left_in_outboxes']} left in outboxes")
        busy, idle = r["busy_cpu_pct"], r["idle_cpu_pct"]
        print(f"    CPU busy: Mosquitto {busy['mosquitto']:.0f}%, devices {busy['devices']:.0f}%, consumers "
              f"{busy['consumers']:.0f}%; idle: Mosquitto {idle['mosquitto']:.0f}%, devices {idle['devices']:.0f}%")


# -- main ------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", default="50,200", help="fleet sizes, comma-separated (default 50,200)")
    parser.add_argument("--alerts", type=int, default=20, help="alerts per device (default 20)")
    parser.add_argument("--rate", type=float, default=2.0, help="alerts/s per device (default 2)")
    parser.add_argument("--consumers", type=int, default=3, help="shared-subscription consumers (default 3)")
    parser.add_argument("--messages", type=int, default=2000, help="alerts for the throughput part (default 2000)")
    parser.add_argument("--per-process", type=int, default=100,
                        help="devices per worker process (default 100; paho's select() caps a process near 170)")
    parser.add_argument("--fleet-outbox", choices=("shipped", "full", "memory"), default="shipped",
                        help="the devices' outboxes: shipped, full or memory (what-ifs; default shipped)")
    parser.add_argument("--drain-timeout", type=float, default=60.0, help="s to wait for stragglers (default 60)")
    parser.add_argument("--parts", default="throughput,fleet", help="which parts to run (default both)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    parts = set(args.parts.split(","))
    figures: dict = {"args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}}
    with tempfile.TemporaryDirectory(prefix="edgewatch-fleet-") as tmp:
        workdir = Path(tmp)
        figures["machine"] = info = machine_info(workdir)
        print_machine(info)
        began = time.perf_counter()
        if "throughput" in parts:
            figures["throughput"] = run_throughput(args, workdir)
            print_throughput(figures["throughput"])
            figures["durability_lag"] = durability_lag(workdir)
            print_durability(figures["durability_lag"])
        if "fleet" in parts:
            figures["fleet"] = []
            for n in (int(x) for x in args.devices.split(",")):
                print(f"  fleet of {n} ...", flush=True)
                figures["fleet"].append(run_fleet(n, args, workdir))
            print_fleet(figures["fleet"], args.consumers)
        figures["wall_s"] = time.perf_counter() - began
        figures["load_average_1m_at_end"] = round(os.getloadavg()[0], 2)
    print(f"\ntotal {figures['wall_s']:.0f} s; 1-minute load average at the end: {figures['load_average_1m_at_end']:.2f}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
        print(f"figures written to {args.json}")
    lost = sum(r["lost"] for r in figures.get("throughput", [])) + sum(r["lost"] for r in figures.get("fleet", []))
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
