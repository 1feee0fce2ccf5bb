"""``edgewatch train <family>``: one command per model family, sharing the training options."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from edgewatch.errors_cli import cli_errors
from edgewatch.progress import train_with_progress

__all__ = ["train_app"]

train_app = typer.Typer(no_args_is_help=True, help="Train a model on your data (one command per family).")
console = Console(stderr=True)

Data = Annotated[Path, typer.Option(exists=True, dir_okay=False, help="Training data (format: see the command).")]
Out = Annotated[Path, typer.Option(help="Where to write the .keras model (a .edgewatch.json sidecar goes beside it).")]
Epochs = Annotated[int, typer.Option(help="Most epochs; early stopping on the validation split may end sooner.")]
Units = Annotated[Optional[int], typer.Option(help="Recurrent units (default: the family's).")]
Holdout = Annotated[float, typer.Option(help="Fraction kept out of training for calibration and evaluation.")]
Seed = Annotated[int, typer.Option(help="Random seed (weights, shuffling, splits).")]
Patience = Annotated[int, typer.Option(help="Epochs without validation improvement before stopping.")]


def _train(family: str, data: Path, out: Path, **settings) -> None:
    from convert.train import TrainConfig

    settings = {k: v for k, v in settings.items() if v is not None}
    train_with_progress(data, out, TrainConfig(family=family, **settings), console)


@train_app.command("autoencoder")
@cli_errors
def autoencoder(data: Annotated[Path, typer.Option(exists=True, dir_okay=False, help=(
                    "CSV of normal operation: header, numeric columns, optional timestamp; or a WAV with "
                    "--features."))],
                out: Out, window: Annotated[int, typer.Option(help="Rows (or feature frames) per window.")] = 60,
                hop: Annotated[Optional[int], typer.Option(help="Rows between windows (default window/10).")] = None,
                units: Units = 32, epochs: Epochs = 50, holdout: Holdout = 0.2, seed: Seed = 0,
                patience: Patience = 5,
                members: Annotated[int, typer.Option(help="Autoencoders trained from different initialisations and "
                                                          "averaged in one model (steadier scores; the device pays "
                                                          "each member's compute).")] = 1,
                sample_rate: Annotated[Optional[float], typer.Option(help="Rows per second, if no timestamps.")] = None,
                score: Annotated[str, typer.Option(help="Window score: 'mse' (mean squared error) or 'channel-max' "
                                                        "(worst channel, slow-drifting channels down-weighted).")] = "mse",
                features: Annotated[str, typer.Option(help="none (CSV rows), or logmel / mfcc frames of a WAV "
                                                           "recording (16 kHz, 10 ms hop); window and hop then count "
                                                           "frames.")] = "none",
                ) -> None:
    """LSTM autoencoder on a normal-operation sensor CSV (or on a WAV's log-mel/MFCC frames)."""
    _train("lstm_autoencoder", data, out, window=window, hop=hop, units=units, members=members, epochs=epochs,
           holdout_fraction=holdout, seed=seed, patience=patience, sample_rate=sample_rate, score=score,
           features=features)


@train_app.command("forecaster")
@cli_errors
def forecaster(data: Data, out: Out, window: Annotated[int, typer.Option(help="Rows the model sees.")] = 60,
               horizon: Annotated[int, typer.Option(help="Rows it predicts (the score is their error).")] = 1,
               hop: Annotated[Optional[int], typer.Option(help="Rows between windows (default window/10).")] = None,
               units: Units = 64, epochs: Epochs = 50, holdout: Holdout = 0.2, seed: Seed = 0,
               patience: Patience = 5,
               sample_rate: Annotated[Optional[float], typer.Option(help="Rows per second, if no timestamps.")] = None,
               ) -> None:
    """Stacked-LSTM forecaster on a sensor CSV; anomaly score = forecast error of the next rows."""
    _train("lstm_forecaster", data, out, window=window, horizon=horizon, hop=hop, units=units, epochs=epochs,
           holdout_fraction=holdout, seed=seed, patience=patience, sample_rate=sample_rate)


LabelledData = Annotated[Path, typer.Option(exists=True, help=(
    "Training data: a file (format: see the command), or a directory with one subdirectory of recordings per "
    "label (WAVs for --features mfcc/logmel, videos for frames)."))]


@train_app.command("classifier")
@cli_errors
def classifier(data: LabelledData, out: Out,
               cell: Annotated[str, typer.Option(help="Recurrent cell: lstm, bilstm or gru.")] = "lstm",
               window: Annotated[int, typer.Option(help="Rows (feature frames) per window.")] = 40,
               hop: Annotated[Optional[int], typer.Option(help="Rows between windows (default window/10).")] = None,
               label_column: Annotated[str, typer.Option(help="The CSV column holding each row's label.")] = "label",
               features: Annotated[str, typer.Option(help="none (a CSV of rows), or mfcc / logmel frames of the WAV "
                                                          "recordings in a directory per label (16 kHz, 10 ms hop); "
                                                          "window and hop then count frames.")] = "none",
               units: Units = 64, epochs: Epochs = 50, holdout: Holdout = 0.2, seed: Seed = 0,
               patience: Patience = 5) -> None:
    """LSTM / BiLSTM / GRU classifier on a CSV of feature rows with a label column, or on labelled WAVs."""
    from convert.families.classifier import CELLS
    from edge.errors import ConfigError

    if cell not in CELLS:
        raise ConfigError(f"--cell must be one of {', '.join(CELLS)}, got {cell!r}")
    if features not in ("none", "mfcc", "logmel"):
        raise ConfigError(f"--features must be none, mfcc or logmel, got {features!r}")
    if (features != "none") != data.is_dir():
        raise ConfigError("--features mfcc/logmel goes with a directory of labelled WAV recordings, "
                          "--features none with a CSV of rows")
    _train(f"{cell}_classifier", data, out, window=window, hop=hop, label_column=label_column, units=units,
           epochs=epochs, holdout_fraction=holdout, seed=seed, patience=patience, features=features)


@train_app.command("cnn-lstm")
@cli_errors
def cnn_lstm(data: LabelledData, out: Out, filters: Annotated[Optional[int], typer.Option(help="Conv filters.")] = 8,
             window: Annotated[int, typer.Option(help="Videos: frames per window.")] = 8,
             hop: Annotated[int, typer.Option(help="Videos: frames between windows.")] = 2,
             fps: Annotated[float, typer.Option(help="Videos: frames per second sampled from the camera.")] = 10.0,
             frame_size: Annotated[str, typer.Option(help="Videos: WIDTHxHEIGHT the frames are resized to.")] = "32x24",
             color: Annotated[bool, typer.Option("--color", help="Videos: keep colour (default grey).")] = False,
             diff: Annotated[bool, typer.Option("--diff", help="Videos: feed the change from the previous frame "
                                                              "(motion) instead of the frame.")] = False,
             units: Units = 32, epochs: Epochs = 50, holdout: Holdout = 0.2, seed: Seed = 0,
             patience: Patience = 5) -> None:
    """CNN+LSTM on frame sequences: a directory of videos per label, or an .npz with 'frames' and 'labels'."""
    settings = {}
    if data.is_dir():
        width, height = _frame_size(frame_size)
        settings = dict(features="frames", window=window, hop=hop, feature_params=dict(
            fps=fps, width=width, height=height, grayscale=not color, diff=diff))
    _train("cnn_lstm", data, out, filters=filters, units=units, epochs=epochs, holdout_fraction=holdout,
           seed=seed, patience=patience, **settings)


def _frame_size(text: str) -> tuple[int, int]:
    from edge.errors import ConfigError

    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ConfigError(f"--frame-size must be WIDTHxHEIGHT (e.g. 32x24), got {text!r}") from None
    return width, height


@train_app.command("text-classifier")
@cli_errors
def text_classifier(data: Data, out: Out, length: Annotated[int, typer.Option(help="Tokens per text.")] = 64,
                    vocab_size: Annotated[int, typer.Option(help="Most words in the vocabulary.")] = 2000,
                    units: Units = 32, epochs: Epochs = 50, holdout: Holdout = 0.2, seed: Seed = 0,
                    patience: Patience = 5) -> None:
    """Embedding + LSTM text classifier on a CSV with columns 'text' and 'label'."""
    _train("text_classifier", data, out, window=length, vocab_size=vocab_size, units=units, epochs=epochs,
           holdout_fraction=holdout, seed=seed, patience=patience)


@train_app.command("char-generator")
@cli_errors
def char_generator(data: Data, out: Out, length: Annotated[int, typer.Option(help="Context characters.")] = 40,
                   hop: Annotated[int, typer.Option(help="Characters between training contexts.")] = 1,
                   units: Units = 64, epochs: Epochs = 30, holdout: Holdout = 0.1, seed: Seed = 0,
                   patience: Patience = 3) -> None:
    """Character-level LSTM generator on a plain UTF-8 text file."""
    _train("char_generator", data, out, window=length, hop=hop, units=units, epochs=epochs,
           holdout_fraction=holdout, seed=seed, patience=patience)
