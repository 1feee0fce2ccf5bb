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
import random
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fleet_common import (  # noqa: E402
    SHARED_FILTER,
    Consumers,
    machine_info,
    make_alert,
    open_sink,
    percentile,
    print_machine,
    wait_until,
)
from fleet_throughput import (  # noqa: E402
    durability_lag,
    make_outbox,
    print_durability,
    print_throughput,
    run_throughput,
)

from edge.alerts import Alert  # noqa: E402
from edge.sinks import MqttSink  # noqa: E402
from edgewatch.broker import LocalBroker  # noqa: E402

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
