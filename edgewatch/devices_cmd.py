"""``edgewatch devices``: what a source, a backend and a broker could be on this machine."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from edge.devices import DeviceReport, Probe, survey
from edge.settings import InferSettings
from edgewatch.errors_cli import cli_errors

__all__ = ["devices"]


@cli_errors
def devices(
    mqtt: Annotated[Optional[str], typer.Option(help="Broker URL to check: mqtt://HOST:PORT or mqtts://HOST:PORT.")] = None,
    config: Annotated[Optional[Path], typer.Option(help="edge-infer TOML config whose [mqtt] broker to check.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """List audio inputs, cameras, serial ports, inference backends and whether the broker answers."""
    settings = InferSettings.from_toml(config) if config else InferSettings()
    settings = settings.with_overrides(mqtt=dict(url=mqtt))
    report = survey(settings.mqtt.config(settings.device_id))
    if as_json:
        print(json.dumps(report.to_dict(), indent=2, default=str))
        return
    _print(report, Console())


def _print(report: DeviceReport, console: Console) -> None:
    _section(console, "Audio inputs (--source mic:INDEX)", report.audio_inputs,
             ("index", "name", "channels", "default_rate", "default"))
    _section(console, "Cameras (--source camera:INDEX)", report.cameras, ("index", "width", "height", "backend"))
    _section(console, "Serial ports (--source serial:PORT)", report.serial_ports, ("device", "description"))
    _section(console, "Inference backends", report.backends, ("name", "available", "version", "install"))
    if report.broker is not None:
        _section(console, "MQTT broker", report.broker, ("address", "answers", "connack", "ms"))


def _section(console: Console, title: str, probe: Probe, columns: tuple[str, ...]) -> None:
    if probe.error and not probe.items:
        console.print(f"[bold]{title}[/bold]: [yellow]{probe.error}[/yellow]")
        return
    if not probe.items:
        console.print(f"[bold]{title}[/bold]: none found")
        return
    table = Table(title=title, title_justify="left", title_style="bold", min_width=len(title))
    for column in columns:
        table.add_column(column)
    for item in probe.items:
        table.add_row(*("" if item.get(c) is None else str(item.get(c)) for c in columns))
    console.print(table)
    if probe.error:
        console.print(f"[yellow]{probe.error}[/yellow]")


if __name__ == "__main__":  # pragma: no cover
    typer.run(devices)
    sys.exit(0)
