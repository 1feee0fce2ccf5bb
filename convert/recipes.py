"""How each family is fed: its data loader, its spec from the data, and its training loss."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from calibration.dataset import RepresentativeDataset
from convert.data import (Dataset, DataOptions, load_char_text, load_frames, load_labelled_clips,
                          load_labelled_windows, load_sensor_windows, load_text_classes)
from convert.families import (AutoencoderSpec, CharGeneratorSpec, ClassifierSpec, CnnLstmSpec, Family,
                              ForecasterSpec, Spec, Task, TextClassifierSpec, get_family)

__all__ = ["Recipe", "recipe_for", "load_dataset", "options_from_sidecar", "representative_for"]


@dataclass(frozen=True)
class Recipe:
    """The loader and spec maker of one family; ``overrides`` are spec fields the user set (units, cell...)."""

    family: Family
    load: Callable[..., Dataset]  # (path, options, scaler=None)
    make_spec: Callable[[Dataset, DataOptions, dict], Spec]

    @property
    def loss(self) -> str:
        return "mse" if self.family.task in (Task.RECONSTRUCT, Task.FORECAST) else "sparse_categorical_crossentropy"


def _channels(d: Dataset) -> int:
    return int(d.x_train.shape[-1])


def _classes(d: Dataset) -> int:
    return len(d.meta["labels"])


def _pick(overrides: dict, *names: str) -> dict:
    return {k: v for k, v in overrides.items() if k in names and v is not None}


def _or_recordings(load_file: Callable[..., Dataset]) -> Callable[..., Dataset]:
    """A classifier's loader: its file format, or a directory of labelled recordings (``convert.data.clips``)."""
    def load(path: Path, options: DataOptions, scaler=None) -> Dataset:
        if Path(path).is_dir():
            return load_labelled_clips(path, options, scaler)
        return load_file(path, options, scaler)

    return load


_RECIPES: dict[str, Callable[[Family], Recipe]] = {
    "reconstruct": lambda f: Recipe(f, load_sensor_windows, lambda d, o, ov: AutoencoderSpec(
        o.window, _channels(d), **_pick(ov, "units", "members"))),
    "forecast": lambda f: Recipe(f, lambda p, o, scaler=None: load_sensor_windows(p, o, True, scaler), lambda d, o, ov: ForecasterSpec(
        o.window, _channels(d), o.horizon, **_pick(ov, "units"))),
    "sequence": lambda f: Recipe(f, _or_recordings(load_labelled_windows), lambda d, o, ov: ClassifierSpec(
        o.window, _channels(d), _classes(d), cell=f.name.split("_")[0], **_pick(ov, "units"))),
    "frames": lambda f: Recipe(f, _or_recordings(load_frames), lambda d, o, ov: CnnLstmSpec(
        *d.x_train.shape[1:], _classes(d), **_pick(ov, "units", "filters"))),
    "text": lambda f: Recipe(f, load_text_classes, lambda d, o, ov: TextClassifierSpec(
        o.window, len(d.meta["text"]["vocabulary"]) + 2, _classes(d), **_pick(ov, "units", "embedding"))),
    "chars": lambda f: Recipe(f, load_char_text, lambda d, o, ov: CharGeneratorSpec(
        o.window, len(d.meta["text"]["vocabulary"]) + 1, **_pick(ov, "units", "embedding"))),
}

_KIND = {"lstm_autoencoder": "reconstruct", "lstm_forecaster": "forecast", "lstm_classifier": "sequence",
         "bilstm_classifier": "sequence", "gru_classifier": "sequence", "cnn_lstm": "frames",
         "text_classifier": "text", "char_generator": "chars"}


def recipe_for(family_name: str) -> Recipe:
    family = get_family(family_name)
    return _RECIPES[_KIND[family.name]](family)


def options_from_sidecar(sidecar: dict) -> DataOptions:
    """The split settings training recorded (older autoencoder sidecars: its training settings)."""
    saved = sidecar.get("options") or sidecar.get("training") or {}
    return DataOptions(**{k: v for k, v in saved.items() if k in DataOptions.__dataclass_fields__})


def representative_for(dataset: Dataset, count: int) -> RepresentativeDataset:
    """The INT8 calibration sample of a dataset: the same one for every converter and export."""
    return RepresentativeDataset(dataset.x_train, count, dataset.strata)


def load_dataset(family_name: str, path: Path, options: DataOptions, scaler=None) -> Dataset:
    """The family's data, split as training split it (same options, same seed); ``scaler``: the model's."""
    return recipe_for(family_name).load(Path(path), options, scaler=scaler)
