"""Rich progress displays for long host-side work (training, conversion)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

__all__ = ["train_with_progress", "convert_with_status", "print_variants"]


def train_with_progress(data: Path, out: Path, config, console: Console):
    """Run ``convert.train.train_autoencoder`` with an epoch progress bar."""
    from convert.train import train_autoencoder

    progress = Progress(TextColumn("training"), BarColumn(), TextColumn("{task.description}"),
                        TimeElapsedColumn(), console=console)
    task = progress.add_task("", total=config.epochs)

    def on_epoch(epoch: int, total: int, logs: dict) -> None:
        progress.start()  # only once training runs, so a data error prints alone
        progress.update(task, completed=epoch,
                        description=f"epoch {epoch}/{total} loss {logs.get('loss', 0):.4f} "
                                    f"val {logs.get('val_loss', 0):.4f}")

    try:
        result = train_autoencoder(data, out, config, on_epoch=on_epoch)
    finally:
        progress.stop()
    console.print(f"saved {result.model_path} after {result.epochs_run} epochs "
                  f"(loss {result.final_loss:.4f}, best val {result.best_val_loss:.4f})")
    return result


def convert_with_status(model: Path, data: Path, out: Path, config, console: Console) -> dict:
    """Run ``convert.pipeline.convert_model`` with a spinner naming the current step."""
    from convert.pipeline import convert_model

    with console.status("converting") as status:
        return convert_model(model, data, out, config, step=lambda text: status.update(text))


def print_variants(manifest: dict, console: Console) -> None:
    from rich.table import Table

    table = Table(title=f"bundle {manifest['model']['name']} (default: {manifest['default_variant']})")
    for column in ("variant", "bytes", "latency ms", "score corr.", "same decision", "threshold"):
        table.add_column(column, justify="right")
    for name, v in manifest["variants"].items():
        agree = v["agreement_with_keras"]
        table.add_row(name, f"{v['bytes']:,}", f"{v['latency_ms_host']:.3f}", f"{agree['score_correlation']:.5f}",
                      f"{agree['decision_agreement']:.2%}", f"{v['threshold']:.5g}")
    console.print(table)
    console.print(f"score {manifest['score']['kind']}: {manifest['score']['description']}")
    th = manifest["threshold"]
    console.print(f"threshold {th['value']:.5g} by {th['method']} on {th['calibration_data']}: {th['note']}")
