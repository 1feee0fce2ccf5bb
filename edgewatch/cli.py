"""``edgewatch``: train, convert, bench, generate, run and demo, one Typer app per area."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from edgewatch.errors_cli import cli_errors
from edgewatch.bridge_cmd import bridge
from edgewatch.devices_cmd import devices
from edgewatch.firmware_cmd import export_firmware
from edgewatch.infer import run as run_infer
from edgewatch.device_cmd import doctor, service_app
from edgewatch.update_cmd import keygen, send_update, sign
from edgewatch.bench_cmd import bench
from edgewatch.convert_cmd import convert_cmd
from edgewatch.generate_cmd import generate
from edgewatch.train_cmd import train_app

__all__ = ["app", "main"]

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_show_locals=False,
                  help="Sequence models from training to alerts on small devices.")
app.add_typer(train_app, name="train")
app.command("convert")(convert_cmd)
app.command("bench")(bench)
app.command("generate")(generate)


@app.command("infer", add_help_option=False,
             context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def infer_cmd(ctx: typer.Context) -> None:
    """Same as edge-infer (its flags; --help lists them)."""
    raise typer.Exit(run_infer(list(ctx.args)))


app.command("export-firmware")(export_firmware)
app.command("devices")(devices)
app.command("bridge", help="Relay an MCU's inference results (serial frames) to the MQTT alert topics.")(bridge)
app.command("doctor")(doctor)
app.add_typer(service_app, name="service")
app.command("keygen")(keygen)
app.command("sign")(sign)
app.command("update")(send_update)
console = Console(stderr=True)


@app.command("demo")
@cli_errors
def demo_cmd(
    workdir: Annotated[Optional[Path], typer.Option(help="Keep the demo's files here (default: a temp dir).")] = None,
    epochs: Annotated[int, typer.Option(help="Training epochs.")] = 40,
) -> None:
    """Generate pump data with anomalies, train, convert, stream through a private broker, compare."""
    from edgewatch.demo import run_demo

    ok = run_demo(workdir, epochs=epochs, console=console)
    raise typer.Exit(0 if ok else 1)


def main() -> None:
    """Entry point of the ``edgewatch`` command."""
    app()


if __name__ == "__main__":
    main()
