"""Rich progress displays and tables for long host-side work (training, conversion)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

__all__ = ["train_with_progress", "convert_with_status", "print_variants"]


def train_with_progress(data: Path, out: Path, config, console: Console):
    """Run ``convert.train.train_model`` with an epoch progress bar."""
    from convert.train import train_model

    progress = Progress(TextColumn(f"training {config.family}"), BarColumn(), TextColumn("{task.description}"),
                        TimeElapsedColumn(), console=console)
    task = progress.add_task("", total=config.epochs)

    def on_epoch(epoch: int, total: int, logs: dict) -> None:
        progress.start()  # only once training runs, so a data error prints alone
        accuracy = f" acc {logs['accuracy']:.3f}" if "accuracy" in logs else ""
        progress.update(task, completed=epoch,
                        description=f"epoch {epoch}/{total} loss {logs.get('loss', 0):.4f} "
                                    f"val {logs.get('val_loss', 0):.4f}{accuracy}")

    try:
        result = train_model(data, out, config, on_epoch=on_epoch)
    finally:
        progress.stop()
    console.print(f"saved {result.model_path} after {result.epochs_run} epochs "
                  f"(loss {result.final_loss:.4f}, best val {result.best_val_loss:.4f})")
    return result


def convert_with_status(model: Path, data: Path, out: Path, config, console: Console, foreign=None) -> dict:
    """Run ``convert.pipeline.convert_model`` with a spinner naming the current step."""
    from convert.pipeline import convert_model

    with console.status("converting") as status:
        return convert_model(model, data, out, config, step=lambda text: status.update(text), foreign=foreign)


def _metric_columns(task: str) -> tuple[str, ...]:
    if task in ("classify", "generate"):
        return ("accuracy", "argmax_agreement")
    return ("score_correlation", "detection_f1") if task == "reconstruct" else ("score_correlation", "rmse")


def print_variants(manifest: dict, console: Console) -> None:
    """The concise table: size (and ratio to FP32 TFLite), latency here, the budgeted metrics, the verdict."""
    from rich.table import Table

    task = manifest["model"].get("task", "reconstruct")
    metrics = _metric_columns(task)
    table = Table(title=f"bundle {manifest['model']['name']} ({manifest['model']['family']}); "
                        f"default: {manifest['default_variant']} ({manifest.get('choice', {}).get('rule', '')})")
    for column in ("variant", "bytes", "x smaller", "ms/window", *metrics, "budget"):
        table.add_column(column.replace("_", " "), justify="right")
    base = manifest["variants"].get("fp32", {}).get("bytes")
    for name, v in manifest["variants"].items():
        budget = v.get("budget", {})
        verdict = "[green]ok[/]" if budget.get("within_budget", True) else \
            f"[red]{'collapsed' if budget.get('collapsed') else 'over'}: {budget.get('worst_metric')} " \
            f"-{budget.get('worst_drop', 0):.4f}[/]"
        mark = " *" if name == manifest["default_variant"] else ""
        values = [f"{v.get('metrics', {}).get(m, float('nan')):.4f}" for m in metrics]
        table.add_row(name + mark, f"{v['bytes']:,}", f"{base / v['bytes']:.2f}" if base else "-",
                      f"{v['latency_ms_host']:.4f}", *values, verdict)
    console.print(table)
    for name, reason in manifest.get("skipped_variants", {}).items():
        console.print(f"skipped {name}: {reason}")
    console.print(f"score {manifest['score']['kind']}: {manifest['score']['description']}")
    th = manifest["threshold"]
    console.print(f"threshold {th['value']:.5g} by {th['method']}: {th.get('note', '')}")
