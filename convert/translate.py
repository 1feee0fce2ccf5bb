"""Any Keras model -> the same graph in tf_keras at batch 1 (the route to the fused LSTM op).

Keras 3 models are described by their legacy-H5 config (what ``model.save('x.h5')``
writes), which differs from tf_keras's in a few keys only: ``batch_shape`` is
``batch_input_shape`` and dtype policies are plain names. Models saved by
Keras 2 (``.h5``, SavedModel with Keras metadata) load in tf_keras directly.
The weights are copied in ``get_weights()`` order, which both Kerases share
for the built-in layers.
"""

from __future__ import annotations

import copy
import json
import tempfile
from pathlib import Path

from convert import _deps
from edge.errors import ModelLoadError

__all__ = ["keras3_config", "tf_keras_rebuild", "RECURRENT_CLASSES"]

RECURRENT_CLASSES = ("LSTM", "GRU", "SimpleRNN")
_KERAS3_ONLY = ("optional", "quantization_config", "lora_rank", "lora_alpha", "use_cudnn")


def keras3_config(model) -> dict:
    """The model's config in tf_keras's dialect (via the legacy H5 format of Keras 3)."""
    import h5py

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.h5"
        try:
            model.save(path)
        except Exception as exc:
            raise ModelLoadError(f"cannot describe the model for tf_keras: {str(exc).splitlines()[0]}") from exc
        with h5py.File(path, "r") as handle:
            raw = handle.attrs["model_config"]
    config = json.loads(raw if isinstance(raw, str) else raw.decode("utf-8"))
    return _translate(config)


def _translate(node):
    if isinstance(node, list):
        return [_translate(v) for v in node]
    if not isinstance(node, dict):
        return node
    # initializers, regularizers and constraints do not matter once weights are copied, and differ most
    out = {k: _translate(v) for k, v in node.items()
           if not k.endswith(("_initializer", "_regularizer", "_constraint"))}
    if isinstance(out.get("dtype"), dict):  # DTypePolicy -> its name
        out["dtype"] = out["dtype"].get("config", {}).get("name", "float32")
    if "batch_shape" in out:
        out["batch_input_shape"] = out.pop("batch_shape")
    for key in _KERAS3_ONLY:
        out.pop(key, None)
    if isinstance(out.get("inbound_nodes"), list):
        out["inbound_nodes"] = [_legacy_node(n) for n in out["inbound_nodes"]]
    return out


def _keras_tensors(node) -> list:
    if isinstance(node, dict) and node.get("class_name") == "__keras_tensor__":
        return [node["config"]["keras_history"]]
    if isinstance(node, dict):
        return [t for v in node.values() for t in _keras_tensors(v)]
    if isinstance(node, list):
        return [t for v in node for t in _keras_tensors(v)]
    return []


def _legacy_node(node):
    """Keras 3 ``{"args": [keras tensors], "kwargs": ...}`` -> tf_keras ``[[layer, node, tensor, {}], ...]``."""
    if not isinstance(node, dict) or "args" not in node:
        return node
    return [[name, index, tensor, {}] for name, index, tensor in _keras_tensors(node["args"])]


def _at_batch1(node, unroll: bool):
    if isinstance(node, list):
        return [_at_batch1(v, unroll) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _at_batch1(v, unroll) for k, v in node.items()}
    shape = out.get("batch_input_shape")
    if isinstance(shape, list) and shape:
        out["batch_input_shape"] = [1, *shape[1:]]
    if unroll and node.get("class_name") in RECURRENT_CLASSES and isinstance(out.get("config"), dict):
        out["config"]["unroll"] = True
    return out


def tf_keras_rebuild(config: dict, weights: list, unroll: bool = False):
    """The model of ``config`` (tf_keras dialect) at batch 1, optionally unrolled, with ``weights``."""
    tf_keras = _deps.tf_keras()
    config = _at_batch1(copy.deepcopy(config), unroll)
    try:
        model = tf_keras.models.model_from_json(json.dumps(config))
        model.set_weights(weights)
    except Exception as exc:
        raise ModelLoadError(f"cannot rebuild the model in tf_keras for the fused LSTM route: "
                             f"{str(exc).splitlines()[0]}") from exc
    return model
