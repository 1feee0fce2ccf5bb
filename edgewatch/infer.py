"""``edge-infer``: stream a source through a bundle and publish alerts.

Imports only ``edge/`` (never TensorFlow), so it runs on the light device install.
"""

from __future__ import annotations

import math
import os
import signal
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from edge.control import CommandError, parse_command
from edge.bundle import load_bundle
from edge.model import load_model
from edge.outbox import Outbox
from edge.pipeline import Counters, Pipeline, RunConfig, RunSummary
from edge.settings import InferSettings
from edge.sinks import JsonLinesSink, MqttSink, Sink
from edge.sources import open_source
from edgewatch.errors_cli import EXIT_UNDELIVERED, cli_errors

__all__ = ["app", "main", "run_infer"]

app = typer.Typer(add_completion=False, pretty_exceptions_show_locals=False)


@app.command()
@cli_errors
def run_infer(
    bundle: Annotated[Optional[Path], typer.Option(help="Bundle directory written by 'edgewatch convert'.")] = None,
    source: Annotated[Optional[str], typer.Option(help="Where samples come from: file:PATH (.csv .wav .mp4 ...), mic[:NAME_OR_INDEX], camera:INDEX|URL, serial:PORT?baud=..., stdin.")] = None,
    config: Annotated[Optional[Path], typer.Option(help="TOML file with any of these settings; flags override it.")] = None,
    mqtt: Annotated[Optional[str], typer.Option(help="Broker URL mqtt://HOST:PORT or mqtts://HOST:PORT; alerts go to stdout without it.")] = None,
    device_id: Annotated[Optional[str], typer.Option(help="Device id, used in topics and alerts (default edge).")] = None,
    topic_prefix: Annotated[Optional[str], typer.Option(help="First topic level(s) (default edgewatch).")] = None,
    mqtt_protocol: Annotated[Optional[str], typer.Option(help="MQTT protocol: 5 or 3.1.1 (default 5).")] = None,
    mqtt_ca: Annotated[Optional[str], typer.Option(help="CA certificate that signed the broker's (mqtts://).")] = None,
    mqtt_cert: Annotated[Optional[str], typer.Option(help="Client certificate (mqtts://).")] = None,
    mqtt_key: Annotated[Optional[str], typer.Option(help="Client certificate's key (mqtts://).")] = None,
    insecure: Annotated[Optional[bool], typer.Option("--insecure", help="Do not verify the broker's host name (lab use only).")] = None,
    variant: Annotated[Optional[str], typer.Option(help="Bundle variant to run (default: the manifest's).")] = None,
    rate: Annotated[Optional[str], typer.Option(help="File replay pace: 'max' or 'real' (the data's own rate).")] = None,
    threshold: Annotated[Optional[float], typer.Option(help="Override the calibrated threshold.")] = None,
    k: Annotated[Optional[int], typer.Option(help="Hits among the last N windows that start an event.")] = None,
    n: Annotated[Optional[int], typer.Option(help="Debounce span in windows.")] = None,
    cooldown: Annotated[Optional[float], typer.Option(help="Seconds after an event before another may start.")] = None,
    release: Annotated[Optional[int], typer.Option(help="Windows without a hit that end an event.")] = None,
    outbox: Annotated[Optional[Path], typer.Option(help="SQLite file where alerts wait until the broker acknowledges them (default ~/.local/state/edgewatch/DEVICE/outbox.sqlite).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No live status line.")] = False,
) -> None:
    """Stream SOURCE through the bundle's model and publish one alert per anomalous event.

    MQTT credentials come from EDGEWATCH_MQTT_USERNAME / EDGEWATCH_MQTT_PASSWORD or the config file, never flags.
    """
    base = InferSettings.from_toml(config) if config else InferSettings()
    settings = base.with_overrides(
        bundle=bundle, source=source, device_id=device_id, variant=variant, rate=rate, threshold=threshold,
        k=k, n=n, cooldown_s=cooldown, release=release, outbox=outbox,
        mqtt=dict(url=mqtt, topic_prefix=topic_prefix, protocol=mqtt_protocol, ca_file=mqtt_ca,
                  cert_file=mqtt_cert, key_file=mqtt_key, insecure=insecure),
    )
    summary, sink = _run(settings, quiet)
    if not summary.delivery.complete:
        where = f"; they stay in {sink.outbox.path} for the next run" if isinstance(sink, MqttSink) else ""
        print(f"error: {summary.delivery.undelivered} alert(s) were not acknowledged by the broker{where}",
              file=sys.stderr)
        raise typer.Exit(EXIT_UNDELIVERED)


def _run(settings: InferSettings, quiet: bool) -> tuple[RunSummary, Sink]:
    bundle_dir, source_spec = settings.required()
    loaded = load_bundle(bundle_dir)
    chosen = loaded.variant(settings.variant)
    decision = loaded.decision(chosen, settings.threshold, settings.k, settings.n, settings.cooldown_s,
                               settings.release)
    wanted = loaded.input
    stream = open_source(source_spec, wanted.source_columns, rate=settings.rate, sample_rate=wanted.source_rate,
                         media=wanted.media)
    sink = _make_sink(settings)
    sink.open()
    model = load_model(loaded, chosen.name)
    status = _StatusLine(enabled=not quiet and sys.stderr.isatty())
    pipeline = Pipeline(model, stream, sink, RunConfig(settings.device_id, decision), on_status=status.show)
    _accept_commands(sink, pipeline)
    previous = signal.signal(signal.SIGTERM, lambda *_: pipeline.stop())
    try:
        summary = pipeline.run()
    finally:
        signal.signal(signal.SIGTERM, previous)
        status.clear()
        pipeline.model.close()
    _print_summary(summary, pipeline.model.bundle.model_name, pipeline.model.variant.name, pipeline.threshold)
    _print_source_stats(stream)
    return summary, sink


def _accept_commands(sink: Sink, pipeline: Pipeline) -> None:
    """Valid commands go to the pipeline's queue; invalid ones are answered at once."""
    def handle(name: str, payload: bytes) -> None:
        try:
            pipeline.submit(parse_command(name, payload))
        except CommandError as exc:
            sink.publish_reply({"command": name, "request_id": None, "ok": False, "reason": str(exc)})

    if hasattr(sink, "command_handler"):
        sink.command_handler = handle


def _make_sink(settings: InferSettings) -> Sink:
    config = settings.mqtt.config(settings.device_id)
    if config is None:
        return JsonLinesSink(sys.stdout)
    path = settings.outbox or default_outbox_path(settings.device_id)
    return MqttSink(config, Outbox(path, settings.outbox_limits()))


def default_outbox_path(device_id: str) -> Path:
    """``$XDG_STATE_HOME/edgewatch/<device>/outbox.sqlite`` (``~/.local/state`` by default)."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "edgewatch" / device_id / "outbox.sqlite"


class _StatusLine:
    """A live one-line status on stderr (only on a terminal)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def show(self, counters: Counters) -> None:
        if not self.enabled:
            return
        rate = counters.rows / counters.elapsed if counters.elapsed > 0 else 0.0
        line = (f"rows {counters.rows} ({rate:,.0f}/s)  windows {counters.windows}  "
                f"events {counters.events}  bad rows {counters.bad_rows}  "
                f"p50 {counters.latency_ms(50):.2f} ms")
        sys.stderr.write("\r" + line[:150].ljust(80))
        sys.stderr.flush()

    def clear(self) -> None:
        if self.enabled:
            sys.stderr.write("\r" + " " * 100 + "\r")


def _print_summary(summary: RunSummary, model: str, variant: str, threshold: float) -> None:
    c = summary.counters
    p50, p99 = c.latency_ms(50), c.latency_ms(99)
    lines = [
        f"model {model} ({variant}), threshold {threshold:.6g}",
        f"rows {c.rows}, windows {c.windows}, events {c.events}, alert messages delivered "
        f"{summary.delivery.delivered}/{summary.delivery.accepted} in {c.elapsed:.1f} s",
        f"inference p50 {p50:.3f} ms, p99 {p99:.3f} ms" if not math.isnan(p50) else "no window completed",
    ]
    if summary.suppressed:
        lines.append(f"{summary.suppressed} event start(s) suppressed by the cooldown")
    if c.bad_rows:
        lines.append(f"skipped {c.bad_rows} bad row(s); first: {c.first_bad}")
    if c.overflows:
        lines.append(f"dropped {c.overflows} sample(s) of a live source while the worker was behind (overflows)")
    print("\n".join(lines), file=sys.stderr)


def _print_source_stats(stream) -> None:
    """The source's own counters (overflows, drops, bad lines, reconnects), when it keeps any."""
    stats = getattr(stream, "stats", None)
    if stats is None:
        return
    shown = {k: v for k, v in stats().items() if v not in (None, 0, False, "")}
    if shown:
        print(f"source {stream.spec}: " + ", ".join(f"{k} {v}" for k, v in shown.items()), file=sys.stderr)


def main() -> None:
    """Entry point of the ``edge-infer`` command."""
    app()


if __name__ == "__main__":
    main()
