"""Loading a trained model with its sidecar (the family, spec, scaler and data split it was trained with)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from convert import _deps
from convert.families import Spec, get_family
from convert.train import read_sidecar, sidecar_path
from edge.errors import ConfigError, ModelLoadError
from edge.scaler import StandardScaler

__all__ = ["LoadedModel", "load_trained", "load_keras"]


@dataclass(frozen=True)
class LoadedModel:
    """A Keras 3 model, its family's spec, and its sidecar."""

    model: object
    spec: Spec
    sidecar: dict
    path: Path

    @property
    def scaler(self) -> StandardScaler:
        return StandardScaler.from_dict(self.sidecar["scaler"])

    def with_model(self, model, spec: Spec) -> "LoadedModel":
        return replace(self, model=model, spec=spec, sidecar={**self.sidecar, "architecture": spec.to_dict()})


def load_keras(path: Path):
    keras = _deps.keras()
    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as exc:
        raise ModelLoadError(f"cannot load {Path(path).name} with Keras 3: {str(exc).splitlines()[0]}") from exc


def load_trained(model_path: Path) -> LoadedModel:
    """The model and its ``.edgewatch.json`` sidecar; ``ConfigError`` says how to get one."""
    sidecar = read_sidecar(model_path)
    if sidecar is None:
        raise ConfigError(
            f"{Path(model_path).name} has no {sidecar_path(model_path).name} beside it (family, window, columns, "
            "scaler); train it with 'edgewatch train autoencoder' (or another family), or describe it with --family "
            "and the input flags (README: bring your own model)")
    family = get_family(sidecar["family"])
    spec = family.spec(sidecar["architecture"])
    return LoadedModel(load_keras(Path(model_path)), spec, sidecar, Path(model_path))
