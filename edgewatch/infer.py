"""``edge-infer``: stream a source through a bundle and publish alerts.

Imports only ``edge/`` (never TensorFlow), so it runs on the light device install.
"""

from __future__ import annotations

import math
import signal
import sys
from pathlib import Path

from edge.control import CommandError, parse_command
from edge.bundle import Bundle, load_bundle
from edge.errors import ConfigError
from edge.model import LoadedModel, load_model
from edge.outbox import Outbox
from edge.pipeline import Counters, Pipeline, RunConfig, RunSummary
from edge.settings import InferSettings
from edge.sinks import JsonLinesSink, MqttSink, Sink
from edge.sources import open_source
from edge.update import BundleStore
from edgewatch.errors_cli import EXIT_UNDELIVERED, exit_code_of
from edgewatch.infer_args import build_parser, settings_from

__all__ = ["app", "main", "run", "default_outbox_path"]


def run(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (edge-infer's flags), stream, and return the exit code."""
    args = build_parser().parse_args(argv)
    return exit_code_of(lambda: _infer(settings_from(args), args.quiet))


def _infer(settings: InferSettings, quiet: bool) -> int:
    summary, sink = _run(settings, quiet)
    if not summary.delivery.complete:
        where = f"; they stay in {sink.outbox.path} for the next run" if isinstance(sink, MqttSink) else ""
        print(f"error: {summary.delivery.undelivered} alert(s) were not acknowledged by the broker{where}",
              file=sys.stderr)
        return EXIT_UNDELIVERED
    return 0


def _run(settings: InferSettings, quiet: bool) -> tuple[RunSummary, Sink]:
    store = _update_store(settings)
    loaded = _startup_bundle(settings, store)
    model = load_model(loaded, settings.variant, settings.backend)
    decision = loaded.decision(model.variant, settings.threshold, settings.k, settings.n, settings.cooldown_s,
                               settings.release, settings.end_ratio)
    try:
        wanted = loaded.input  # what the bundle's features (or its rows) need from the source
        stream = open_source(_source(settings), wanted.source_columns, rate=settings.rate,
                             sample_rate=wanted.source_rate, media=wanted.media)
        sink = _make_sink(settings)
        sink.open()
    except BaseException:
        model.close()
        raise
    status = _StatusLine(enabled=not quiet and sys.stderr.isatty())
    config = RunConfig(settings.device_id, decision, probation_windows=settings.update.probation_windows)
    pipeline = Pipeline(model, stream, sink, config, on_status=status.show)
    updater = _start_updater(settings, store, pipeline, sink)
    _accept_commands(sink, pipeline, updater)
    previous = signal.signal(signal.SIGTERM, lambda *_: pipeline.stop())
    try:
        summary = pipeline.run()
    finally:
        signal.signal(signal.SIGTERM, previous)
        if updater is not None:
            updater.stop()
        status.clear()
        pipeline.model.close()
    _print_summary(summary, pipeline.model, pipeline.threshold)
    _print_source_stats(stream)
    return summary, sink


def _source(settings: InferSettings) -> str:
    if settings.source is None:
        raise ConfigError("--source is required (as a flag, or in the --config file)")
    return settings.source


def _update_store(settings: InferSettings) -> BundleStore | None:
    """The update directory, when signed updates are on (``[update] trusted_keys``)."""
    if not settings.update.enabled:
        return None
    return BundleStore(settings.update_dir())


def _startup_bundle(settings: InferSettings, store: BundleStore | None) -> Bundle:
    """The last bundle an update made current (falling back to previous, then configured), or the configured one."""
    if store is None:
        if settings.bundle is None:
            raise ConfigError("--bundle is required (as a flag, or in the --config file)")
        return load_bundle(settings.bundle)
    bundle, origin = store.startup_bundle(settings.bundle)
    print(f"running the {origin}", file=sys.stderr)
    return bundle


def _start_updater(settings: InferSettings, store: BundleStore | None, pipeline: Pipeline, sink: Sink):
    if store is None or not hasattr(sink, "command_handler"):
        return None
    from edge.update.updater import Updater

    def reply(answer: dict) -> None:
        sink.publish_reply({**answer, "threshold": pipeline.threshold, "paused": pipeline.paused,
                            "model": pipeline.model.version})

    updater = Updater(settings.update, store, pipeline, reply)
    updater.start()
    return updater


def _accept_commands(sink: Sink, pipeline: Pipeline, updater) -> None:
    """Valid commands go to the pipeline's (or the updater's) queue; invalid ones are answered at once."""
    def handle(name: str, payload: bytes) -> None:
        try:
            command = parse_command(name, payload)
        except CommandError as exc:
            sink.publish_reply({"command": name, "request_id": None, "ok": False, "reason": str(exc)})
            return
        if command.name != "update":
            pipeline.submit(command)
        elif updater is not None:
            updater.submit(command)
        else:
            sink.publish_reply({"command": name, "request_id": command.request_id, "ok": False,
                                "reason": "updates are off on this device: list a signing key in "
                                          "[update] trusted_keys"})

    if hasattr(sink, "command_handler"):
        sink.command_handler = handle


def _make_sink(settings: InferSettings) -> Sink:
    config = settings.mqtt.config(settings.device_id)
    if config is None:
        return JsonLinesSink(sys.stdout)
    return MqttSink(config, Outbox(settings.outbox_path(), settings.outbox_limits()))


def default_outbox_path(device_id: str) -> Path:
    """``$XDG_STATE_HOME/edgewatch/<device>/outbox.sqlite`` (``~/.local/state`` by default)."""
    return InferSettings(device_id=device_id).outbox_path()


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


def _print_summary(summary: RunSummary, model: LoadedModel, threshold: float) -> None:
    c = summary.counters
    p50, p99 = c.latency_ms(50), c.latency_ms(99)
    lines = [
        f"model {model.bundle.model_name} ({model.variant.name} on {model.runs_on}), threshold {threshold:.6g}",
        f"rows {c.rows}, windows {c.windows}, events {c.events}, alert messages delivered "
        f"{summary.delivery.delivered}/{summary.delivery.accepted} in {c.elapsed:.1f} s",
        f"inference p50 {p50:.3f} ms, p99 {p99:.3f} ms" if not math.isnan(p50) else "no window completed",
    ]
    if c.first_window_s is not None:
        lines.append(f"first window scored {c.first_window_s:.2f} s after the process started")
    lines += [f"passed over {reason}" for reason in model.passed_over]
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
    """Entry point of the ``edge-infer`` command: always ends with ``SystemExit(code)``."""
    sys.exit(run(sys.argv[1:]))


app = main  # the edge-infer application, as tests and ``python -m edgewatch.infer`` call it


if __name__ == "__main__":
    main()
