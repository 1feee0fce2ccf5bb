"""Pruning before conversion: structured (fewer units and filters, really smaller and faster) or
unstructured (zeroed weights: only the compressed download shrinks).

Structured pruning keeps, in every recurrent and conv layer, the units (or
filters) with the largest weight norms, slices the weights of that layer and
of the next one to match, and fine-tunes. Unstructured pruning zeroes the
smallest weights on a polynomial schedule while fine-tuning (a Keras 3
callback: tensorflow-model-optimization refuses Keras 3 models). TFLite and
ONNX store zeros like any other number, so the raw file and the latency do
not change; the report says so with the measured gzip sizes.
"""

from __future__ import annotations

import gzip
import time
from dataclasses import replace

import numpy as np

from convert import _deps
from convert.data import Dataset
from convert.export import Precision, rebuild, to_tflite
from convert.families import Family, Task
from convert.recipes import recipe_for
from convert.train import TrainConfig, fit
from edge.errors import ConfigError

__all__ = ["prune_model", "structured_prune", "magnitude_pruning_callback", "sparsity"]

_GATES = {"LSTM": 4, "GRU": 3}
_PASS_THROUGH = ("InputLayer", "RepeatVector", "GlobalAveragePooling2D", "GlobalAveragePooling1D", "Dropout",
                 "Activation", "MaxPooling2D", "AveragePooling2D", "Embedding")


def _top_units(norms: np.ndarray, keep: int) -> np.ndarray:
    return np.sort(np.argsort(norms)[::-1][:keep])


def _prune_recurrent(weights, new_units: int, kind: str, in_keep):
    """Slice one LSTM/GRU's (kernel, recurrent kernel, bias) to the ``new_units`` strongest units."""
    kernel, recurrent, bias = weights
    gates, units = _GATES[kind], recurrent.shape[0]
    columns = lambda keep: np.concatenate([g * units + keep for g in range(gates)])  # noqa: E731
    norms = np.zeros(units)
    for g in range(gates):
        block = slice(g * units, (g + 1) * units)
        norms += np.linalg.norm(kernel[:, block], axis=0) ** 2 + np.linalg.norm(recurrent[:, block], axis=0) ** 2
    keep = _top_units(norms, new_units)
    cols = columns(keep)
    kernel = kernel if in_keep is None else kernel[in_keep]
    new_bias = bias[..., cols]
    return [kernel[:, cols], recurrent[keep][:, cols], new_bias], keep


def _layer_kind(layer) -> tuple[str, object]:
    inner = getattr(layer, "layer", None)  # TimeDistributed / Bidirectional wrap one layer
    name = type(layer).__name__
    if name == "Bidirectional":
        return "Bidirectional", layer.forward_layer
    return (type(inner).__name__, inner) if name == "TimeDistributed" else (name, layer)


def _slice_layer(old, new, in_keep):
    """New weights for ``new`` from ``old`` given the kept input features; returns (weights, kept outputs)."""
    kind, _ = _layer_kind(old)
    weights = old.get_weights()
    if kind in _GATES:
        return _prune_recurrent(weights, new.get_weights()[1].shape[0], kind, in_keep)
    if kind == "Bidirectional":
        half = len(weights) // 2
        units = old.forward_layer.get_weights()[1].shape[0]
        new_units = new.forward_layer.get_weights()[1].shape[0]
        cell = type(old.forward_layer).__name__
        fwd, keep_f = _prune_recurrent(weights[:half], new_units, cell, in_keep)
        bwd, keep_b = _prune_recurrent(weights[half:], new_units, cell, in_keep)
        return fwd + bwd, np.concatenate([keep_f, units + keep_b])
    if kind == "Conv2D":
        kernel, bias = weights
        kernel = kernel if in_keep is None else kernel[:, :, in_keep]
        keep = _top_units(np.linalg.norm(kernel.reshape(-1, kernel.shape[-1]), axis=0), new.get_weights()[0].shape[-1])
        return [kernel[..., keep], bias[keep]], keep
    if kind == "Dense":
        kernel, bias = weights
        if new.get_weights()[0].shape[1] != kernel.shape[1]:
            raise ConfigError(f"structured pruning of a hidden Dense layer ({old.name}) is not supported")
        return [kernel if in_keep is None else kernel[in_keep], bias], None
    if kind in _PASS_THROUGH or kind == "Reshape" and in_keep is None:
        return weights, in_keep
    raise ConfigError(f"structured pruning does not know layer {old.name} ({kind}); use --prune-kind unstructured")


def structured_prune(model, family: Family, spec, fraction: float):
    """A new Keras 3 model of ``spec.with_units(1 - fraction)`` carrying the strongest units' weights."""
    keras = _deps.keras()
    new_spec = spec.with_units(1.0 - fraction)
    if new_spec == spec:
        raise ConfigError(f"--prune {fraction} removes no unit from {spec.to_dict()}; prune more")
    pruned = family.build(keras, new_spec)
    kept = None
    for old, new in zip(model.layers, pruned.layers):
        weights, kept = _slice_layer(old, new, kept)
        new.set_weights(weights)
    return pruned, new_spec


def sparsity(model) -> float:
    """Fraction of exactly-zero values among the model's kernels."""
    kernels = [w for w in model.get_weights() if w.ndim >= 2]
    return float(sum(np.sum(w == 0) for w in kernels) / max(1, sum(w.size for w in kernels)))


def magnitude_pruning_callback(keras, target: float, total_epochs: int):
    """Zero the smallest kernel weights after every batch, sparsity rising as 1 - (1 - t)^3 to ``target``."""

    class MagnitudePruning(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.epoch, self.steps = 0, max(1, total_epochs)

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            progress = min(1.0, (self.epoch + 1) / self.steps)
            self.apply(target * (1.0 - (1.0 - progress) ** 3))

        def apply(self, level: float) -> None:
            for variable in self.model.trainable_weights:
                value = np.asarray(variable)
                if value.ndim < 2 or level <= 0:
                    continue
                cut = np.quantile(np.abs(value), level)
                variable.assign(np.where(np.abs(value) <= cut, 0.0, value).astype(value.dtype))

        def on_train_end(self, logs=None):
            self.apply(target)

    return MagnitudePruning()


def _held_out_metric(model, task: Task, dataset: Dataset) -> dict:
    out = np.asarray(model.predict(dataset.x_test, batch_size=256, verbose=0))
    if task in (Task.CLASSIFY, Task.GENERATE):
        return {"accuracy": float(np.mean(out.argmax(axis=-1) == dataset.y_test))}
    return {"mse": float(np.mean((out.reshape(len(out), -1) - dataset.y_test.reshape(len(out), -1)) ** 2))}


def _fp32_figures(model, family: Family, spec, sample: np.ndarray) -> dict:
    """Size (raw and gzip) and latency here of the model's FP32 TFLite."""
    from ai_edge_litert.interpreter import Interpreter

    content = to_tflite(rebuild(model, family, spec), Precision.FP32)
    interp = Interpreter(model_content=content, num_threads=1)
    interp.allocate_tensors()
    detail = interp.get_input_details()[0]
    times = []
    for x in sample:
        interp.reset_all_variables()
        interp.set_tensor(detail["index"], x[None].astype(detail["dtype"]))
        began = time.perf_counter()
        interp.invoke()
        times.append((time.perf_counter() - began) * 1000.0)
    return {"fp32_tflite_bytes": len(content), "fp32_tflite_gzip_bytes": len(gzip.compress(content, 9)),
            "fp32_latency_ms": float(np.median(times))}


def prune_model(loaded, family: Family, dataset: Dataset, config):
    """Prune ``loaded`` as ``config`` (a ``PruneConfig``) says, fine-tune, and measure before and after."""
    if getattr(loaded.spec, "members", 1) > 1:
        raise ConfigError(f"pruning takes one autoencoder, this model averages {loaded.spec.members}; "
                          "train it with --members 1 (or fewer --units) instead")
    keras = _deps.keras()
    sample = dataset.x_test[np.linspace(0, len(dataset.x_test) - 1, min(100, len(dataset.x_test))).astype(int)]
    model, spec = loaded.model, loaded.spec
    before = {"params": int(model.count_params()), **_held_out_metric(model, family.task, dataset),
              **_fp32_figures(model, family, spec, sample), "sparsity": sparsity(model)}
    training = TrainConfig(family=family.name, epochs=config.epochs, patience=config.epochs, learning_rate=2e-3)
    loss = recipe_for(family.name).loss
    if config.kind == "structured":
        model, spec = structured_prune(model, family, spec, config.fraction)
        fit(model, dataset, loss, training)
        note = "fewer units/filters: the file, the memory and the latency all shrink"
    else:
        model = keras.models.clone_model(model)
        model.set_weights(loaded.model.get_weights())
        fit(model, dataset, loss, replace(training, patience=config.epochs + 1),
            extra_callbacks=[magnitude_pruning_callback(keras, config.fraction, config.epochs)])
        note = ("zeroed weights are stored like any other: the raw .tflite/.onnx size and the latency do not "
                "change, only the compressed (gzip) download shrinks")
    after = {"params": int(model.count_params()), **_held_out_metric(model, family.task, dataset),
             **_fp32_figures(model, family, spec, sample), "sparsity": sparsity(model)}
    report = {"kind": config.kind, "fraction": config.fraction, "fine_tune_epochs": config.epochs,
              "architecture_before": loaded.spec.to_dict(), "architecture_after": spec.to_dict(),
              "before": before, "after": after, "note": note}
    return loaded.with_model(model, spec), report
