"""Models trained elsewhere: ``.keras``, ``.h5``, a SavedModel directory or ``.onnx``, without a sidecar.

The user names the family (which says how the data is read and how the
output is judged: ``--family lstm_classifier`` ...); the window comes from the
model's input shape, the scaler is fitted on the data's training part (or left
out with ``--no-scale`` for a model that scales inside). Keras models are
rebuilt in tf_keras at batch 1 from their config (``convert.translate``), so
they take the fused-LSTM route like edgewatch's own; an ONNX model yields the
three ONNX variants, judged against itself in FP32.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np

from convert import _deps
from convert.data import DataOptions
from convert.families import Family, Spec, get_family
from convert.layer_check import check_layers
from convert.loading import LoadedModel, load_keras
from convert.recipes import load_dataset
from convert.translate import keras3_config, tf_keras_rebuild
from edge.errors import ConfigError, ModelLoadError

__all__ = ["ForeignOptions", "ForeignSpec", "OnnxReference", "load_foreign", "KERAS_SUFFIXES"]

KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")


@dataclass(frozen=True)
class ForeignOptions:
    """What a model without a sidecar needs to be told (CLI: ``--family``, ``--hop``, ``--label-column``, ``--no-scale``)."""

    family: str
    hop: int | None = None
    label_column: str = "label"
    scale: bool = True
    holdout_fraction: float = 0.2


@dataclass(frozen=True)
class ForeignSpec(Spec):
    """A foreign model's input (shape without batch, dtype), forecast horizon and where it came from."""

    shape: tuple[int, ...]
    dtype: str = "float32"
    horizon: int = 1
    source: str = ""

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.shape)

    @property
    def input_dtype(self) -> str:
        return self.dtype


class OnnxReference:
    """An ONNX model with Keras's ``predict`` signature, so evaluation can judge variants against it."""

    def __init__(self, path: Path) -> None:
        import onnxruntime as ort

        self.path = Path(path)
        self.content = self.path.read_bytes()
        self._session = ort.InferenceSession(self.content, providers=["CPUExecutionProvider"])
        first = self._session.get_inputs()[0]
        self.input_name, self.input_type = first.name, first.type
        self.input_shape = tuple(first.shape)
        self.output_shape = tuple(self._session.get_outputs()[0].shape)

    def predict(self, inputs: np.ndarray, batch_size: int = 256, verbose: int = 0) -> np.ndarray:
        dtype = np.int32 if "int32" in self.input_type else np.int64 if "int64" in self.input_type else np.float32
        parts = [self._session.run(None, {self.input_name: inputs[i:i + batch_size].astype(dtype)})[0]
                 for i in range(0, len(inputs), batch_size)]
        return np.concatenate(parts)


def _load_keras_any(path: Path):
    """Keras 3 for .keras/.h5; tf_keras for SavedModel directories and Keras 2 files Keras 3 refuses."""
    if path.suffix in KERAS_SUFFIXES:
        try:
            return load_keras(path)
        except ModelLoadError:
            if path.suffix == ".keras":
                raise
    try:
        return _deps.tf_keras().models.load_model(path, compile=False)
    except Exception as exc:
        raise ModelLoadError(f"cannot load {path.name} as a Keras model ({str(exc).splitlines()[0]}); a SavedModel "
                             "needs its Keras metadata: save the model as .keras or .h5") from exc


def _static(shape, what: str) -> tuple[int, ...]:
    dims = tuple(shape)[1:]
    if not dims or any(not isinstance(d, int) or d <= 0 for d in dims):
        raise ModelLoadError(f"the model's {what} shape {tuple(shape)} is not fixed after the batch axis; "
                             "export it with a fixed window length")
    return dims


def _horizon(output_shape, input_shape) -> int:
    out = _static(output_shape, "output")
    return int(out[0]) if len(out) == 2 else max(1, int(np.prod(out)) // int(input_shape[-1]))


def _family_for(base: Family, config: dict | None, weights: list | None) -> Family:
    """The base family's task and data, built from the foreign graph instead of edgewatch's builder."""
    def build(k, spec, batch_size=None, unroll=False):
        if config is None:
            raise ConfigError("an ONNX model has no Keras graph to rebuild: only ONNX variants apply")
        return tf_keras_rebuild(config, weights, unroll)

    return replace(base, spec_type=ForeignSpec, build=build, description=f"{base.description} (loaded model)")


def load_foreign(model_path: Path, data_path: Path, options: ForeignOptions) -> tuple[LoadedModel, Family, list]:
    """The model, a family that rebuilds it, and the layer advice; the data cut to the model's input."""
    path = Path(model_path)
    base = get_family(options.family)
    findings = []
    if path.suffix == ".onnx":
        model = OnnxReference(path)
        in_shape, out_shape = model.input_shape, model.output_shape
        dtype = "int32" if "int" in model.input_type else "float32"
        family = _family_for(base, None, None)
    else:
        model = _load_keras_any(path)
        findings = check_layers(model)
        in_shape, out_shape = tuple(model.inputs[0].shape), tuple(model.outputs[0].shape)
        dtype = "int32" if "int" in str(model.inputs[0].dtype) else "float32"
        config = keras3_config(model) if type(model).__module__.startswith("keras") else _tf_keras_config(model)
        family = _family_for(base, config, model.get_weights())
    shape = _static(in_shape, "input")
    horizon = _horizon(out_shape, shape) if base.task.value == "forecast" else 1
    spec = ForeignSpec(shape, dtype, horizon, path.name)
    data_options = DataOptions(window=int(shape[0]), hop=options.hop, horizon=horizon,
                               label_column=options.label_column, holdout_fraction=options.holdout_fraction)
    dataset = load_dataset(base.name, Path(data_path), data_options, scaler=None if options.scale else _identity(shape))
    known = {f.name for f in fields(DataOptions)}
    sidecar = {"family": base.name, "task": base.task.value, "architecture": spec.to_dict(), **dataset.meta,
               "options": {k: getattr(data_options, k) for k in known}}
    return LoadedModel(model, spec, sidecar, path), family, findings


def _identity(shape):
    from edge.scaler import StandardScaler

    channels = int(shape[-1]) if len(shape) > 1 else 1
    return StandardScaler((0.0,) * channels, (1.0,) * channels)


def _tf_keras_config(model) -> dict:
    import json

    return json.loads(model.to_json())
