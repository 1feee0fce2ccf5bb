"""``edgewatch``: train, convert, run and demo, one Typer app per area."""

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
from edgewatch.progress import convert_with_status, print_variants, train_with_progress

__all__ = ["app", "main"]

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_show_locals=False,
                  help="Sequence models from training to alerts on small devices.")
train_app = typer.Typer(no_args_is_help=True, help="Train a model on your data.")
app.add_typer(train_app, name="train")


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


@train_app.command("autoencoder")
@cli_errors
def train_autoencoder_cmd(
    data: Annotated[Path, typer.Option(help="CSV of normal operation: header, numeric columns, optional timestamp; or a WAV with --features.")],
    out: Annotated[Path, typer.Option(help="Where to write the .keras model (a .edgewatch.json sidecar goes beside it).")],
    window: Annotated[int, typer.Option(help="Rows per window.")] = 60,
    hop: Annotated[Optional[int], typer.Option(help="Rows between windows on the device (default window/10).")] = None,
    units: Annotated[int, typer.Option(help="LSTM units.")] = 32,
    members: Annotated[int, typer.Option(help="Autoencoders trained from different initialisations and averaged in "
                                              "one model (steadier scores; the device pays each member's compute).")] = 1,
    epochs: Annotated[int, typer.Option(help="Most epochs; early stopping may end sooner.")] = 50,
    holdout: Annotated[float, typer.Option(help="Fraction of rows (the tail) kept out of training for calibration.")] = 0.2,
    sample_rate: Annotated[Optional[float], typer.Option(help="Rows per second, if the CSV has no timestamps.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    score: Annotated[str, typer.Option(help="Window score: 'mse' (mean squared error) or 'channel-max' (worst "
                                            "channel, slow-drifting channels down-weighted).")] = "mse",
    features: Annotated[str, typer.Option(help="none (CSV rows), or logmel / mfcc frames of a WAV recording (16 kHz, 10 ms hop); window and hop then count frames.")] = "none",
) -> None:
    """Fit an LSTM autoencoder on sliding windows of a multivariate CSV (or of a WAV's log-mel/MFCC frames)."""
    from convert.train import TrainConfig

    config = TrainConfig(window=window, hop=hop, units=units, members=members, epochs=epochs, holdout_fraction=holdout,
                         sample_rate=sample_rate, seed=seed, score=score, features=features)
    train_with_progress(data, out, config, console)


@app.command("convert")
@cli_errors
def convert_cmd(
    model: Annotated[Path, typer.Option(help="Trained .keras model (with its .edgewatch.json sidecar).")],
    data: Annotated[Path, typer.Option(help="The CSV the model was trained on (representative data, calibration tail).")],
    out: Annotated[Path, typer.Option(help="Bundle directory to write.")],
    default_variant: Annotated[str, typer.Option(help="Variant edge-infer runs by default: int8, dynamic, fp32, onnx.")] = "int8",
    percentile: Annotated[float, typer.Option(help="Threshold is at least this percentile of normal scores.")] = 99.5,
    false_alarms_per_hour: Annotated[float, typer.Option(help="Target false alarms per hour of normal data.")] = 1.0,
    margin: Annotated[float, typer.Option(help="Safety factor on the calibrated threshold (>= 1).")] = 1.25,
    k: Annotated[int, typer.Option(help="Hits among the last N windows that start an event.")] = 3,
    n: Annotated[int, typer.Option(help="Debounce span in windows.")] = 5,
    cooldown: Annotated[float, typer.Option(help="Seconds after an event before another may start.")] = 0.0,
    release: Annotated[Optional[int], typer.Option(help="Windows without a hit that end an event (default 2*N).")] = None,
    end_ratio: Annotated[Optional[float], typer.Option(help="A window below the event's peak divided by this also "
                                                            "counts as quiet, so an event ends when its disturbance "
                                                            "has passed; the next waits until a score is back under "
                                                            "the threshold (default: off).")] = None,
    calibration_data: Annotated[Optional[Path], typer.Option(help="Other normal CSV to calibrate the threshold on.")] = None,
    name: Annotated[Optional[str], typer.Option(help="Model name in the manifest and alerts.")] = None,
    score: Annotated[Optional[str], typer.Option(help="Window score 'mse' or 'channel-max' (default: the one "
                                                      "training recorded).")] = None,
) -> None:
    """Write a bundle: FP32, dynamic and full-INT8 TFLite, ONNX and a verified manifest."""
    from calibration.threshold import ThresholdPolicy
    from convert.pipeline import ConvertConfig

    config = ConvertConfig(default_variant=default_variant, k=k, n=n, cooldown_s=cooldown, release=release,
                           end_ratio=end_ratio,
                           threshold=ThresholdPolicy(percentile, false_alarms_per_hour, margin),
                           calibration_data=calibration_data, model_name=name, score=score)
    manifest = convert_with_status(model, data, out, config, console)
    print_variants(manifest, console)
    console.print(f"wrote {out}")


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
