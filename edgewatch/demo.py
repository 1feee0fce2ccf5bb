"""``edgewatch demo``: the whole path on generated data, with nothing but the project installed.

Generates pump data with four injected anomalies, trains an LSTM autoencoder,
converts it to a bundle, starts a private Mosquitto on a free loopback port,
runs ``edge-infer`` as a separate process on the INT8 model, and compares the
alerts that reached the broker with the anomalies it injected.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from rich.console import Console
from rich.table import Table

from edge.alerts import Alert
from edge.errors import EdgewatchError
from edgewatch.broker import LocalBroker
from edgewatch.progress import convert_with_status, print_variants, train_with_progress
from edgewatch.subscriber import MqttCollector
from edgewatch.synth import Anomaly, demo_anomalies, generate

__all__ = ["run_demo", "match_alerts", "DEVICE_ID"]

DEVICE_ID = "demo-pump"
NORMAL_ROWS, STREAM_ROWS = 12000, 6000


def run_demo(workdir: Path | None, epochs: int, console: Console) -> bool:
    """Run the demo; True when every injected anomaly raised exactly one alert and nothing else did."""
    from calibration.threshold import ThresholdPolicy
    from convert.pipeline import ConvertConfig
    from convert.train import TrainConfig

    with ExitStack() as stack:
        root = Path(workdir) if workdir else Path(stack.enter_context(tempfile.TemporaryDirectory()))
        root.mkdir(parents=True, exist_ok=True)
        normal_csv, stream_csv = root / "normal.csv", root / "stream.csv"
        generate(NORMAL_ROWS, seed=1).write_csv(normal_csv)
        stream = generate(STREAM_ROWS, seed=2, anomalies=demo_anomalies(STREAM_ROWS), offset=NORMAL_ROWS)
        stream.write_csv(stream_csv)
        console.print(f"generated {normal_csv.name} ({NORMAL_ROWS} normal rows at 10 Hz) and "
                      f"{stream_csv.name} ({STREAM_ROWS} rows, {len(stream.anomalies)} anomalies)")
        model = root / "model.keras"
        train_with_progress(normal_csv, model, TrainConfig(window=60, epochs=epochs), console)
        manifest = convert_with_status(model, normal_csv, root / "bundle", ConvertConfig(
            threshold=ThresholdPolicy()), console)
        print_variants(manifest, console)
        alerts, report = _stream_through_broker(root / "bundle", stream_csv, root / "outbox.sqlite", console)
        console.print(report)
        return _report(stream.anomalies, alerts, manifest["input"]["window"], console)


def _stream_through_broker(bundle: Path, stream_csv: Path, outbox: Path, console: Console) -> tuple[list[Alert], str]:
    with LocalBroker() as broker, MqttCollector(broker, f"edgewatch/{DEVICE_ID}/alerts") as collector:
        console.print(f"started mosquitto at {broker.url}; running edge-infer on {stream_csv.name}")
        command = [sys.executable, "-m", "edgewatch.infer", "--bundle", str(bundle), "--source",
                   f"file:{stream_csv}", "--mqtt", broker.url, "--device-id", DEVICE_ID, "--quiet",
                   "--outbox", str(outbox)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise EdgewatchError(f"edge-infer failed ({done.returncode}): {done.stderr.strip()}")
        time.sleep(0.5)  # the broker forwards the last PUBACKed alerts to us
        messages = [Alert.from_json(m.payload) for m in collector.messages]
        return [a for a in messages if a.type == "start"], done.stderr.strip()


def match_alerts(anomalies: tuple[Anomaly, ...], alerts: list[Alert], window: int) -> dict[int, list[Alert]]:
    """Alerts per injected anomaly (by index), and under -1 those that match none.

    An alert matches an anomaly when its windows overlap the anomalous rows.
    """
    matched: dict[int, list[Alert]] = {i: [] for i in range(-1, len(anomalies))}
    for alert in alerts:
        hits = [i for i, a in enumerate(anomalies) if alert.window_start < a.end and alert.window_end > a.start]
        matched[hits[0] if hits else -1].append(alert)
    return matched


def _report(anomalies: tuple[Anomaly, ...], alerts: list[Alert], window: int, console: Console) -> bool:
    matched = match_alerts(anomalies, alerts, window)
    table = Table(title=f"events announced at the broker (start messages): {len(alerts)}")
    for column in ("injected anomaly", "rows", "alerts", "alert window (rows)", "score"):
        table.add_column(column)
    for i, anomaly in enumerate(anomalies):
        got = matched[i]
        rows = ", ".join(f"{a.window_start}-{a.window_end}" for a in got) or "-"
        scores = ", ".join(f"{a.score:.3g}" for a in got) or "-"
        mark = "[green]1[/]" if len(got) == 1 else f"[red]{len(got)}[/]"
        table.add_row(anomaly.kind, f"{anomaly.start}-{anomaly.end}", mark, rows, scores)
    for alert in matched[-1]:
        table.add_row("[red](none: false alarm)[/]", "-", "1", f"{alert.window_start}-{alert.window_end}",
                      f"{alert.score:.3g}")
    console.print(table)
    ok = all(len(matched[i]) == 1 for i in range(len(anomalies))) and not matched[-1]
    console.print("[green]every injected anomaly raised exactly one alert, no false alarms[/]" if ok
                  else "[red]detection did not match the injected anomalies[/]")
    console.print(json.dumps(json.loads(alerts[0].to_json()), indent=1) if alerts else "no alert received")  # as sent
    return ok
