"""Before converting: layers the device runtimes cannot run (or run badly), by name, with the reason and the fix.

Blocking problems stop the conversion with one line per layer; advice
(e.g. TimeDistributed(Dense) traced once per step) goes into the report.
"""

from __future__ import annotations

from dataclasses import dataclass

from edge.errors import ModelLoadError

__all__ = ["LayerFinding", "UnsupportedLayersError", "check_layers"]


@dataclass(frozen=True)
class LayerFinding:
    layer: str
    kind: str
    reason: str
    fix: str
    blocking: bool

    def __str__(self) -> str:
        return f"{self.layer} ({self.kind}): {self.reason}; fix: {self.fix}"


class UnsupportedLayersError(ModelLoadError):
    """The model has layers no device runtime can run as they are; ``findings`` names each."""

    def __init__(self, findings: list[LayerFinding]) -> None:
        self.findings = findings
        super().__init__("; ".join(str(f) for f in findings))


_NO_BUILTIN = {
    "ConvLSTM1D": "no TFLite builtin or ONNX op: it needs Flex ops", "ConvLSTM2D": "no TFLite builtin or ONNX op: "
    "it needs Flex ops", "ConvLSTM3D": "no TFLite builtin or ONNX op: it needs Flex ops",
    "Lambda": "arbitrary TensorFlow code: it often needs Flex (Select-TF) ops the device runtimes lack",
    "TFSMLayer": "a wrapped SavedModel has no layers to rebuild for the fused LSTM",
}
_NO_BUILTIN_FIX = {"ConvLSTM1D": "use TimeDistributed(Conv) followed by an LSTM",
                   "ConvLSTM2D": "use TimeDistributed(Conv2D) followed by an LSTM",
                   "ConvLSTM3D": "use TimeDistributed(Conv3D) followed by an LSTM",
                   "Lambda": "replace it with built-in Keras layers",
                   "TFSMLayer": "load the original Keras model (.keras or .h5) instead"}


def _recurrent_findings(layer, kind: str, name: str) -> list[LayerFinding]:
    findings = []
    config = layer.get_config()
    if config.get("stateful"):
        findings.append(LayerFinding(name, kind, "stateful=True carries state between windows, but the device "
                                     "resets it before every window", "rebuild with stateful=False", True))
    if config.get("return_state"):
        findings.append(LayerFinding(name, kind, "return_state=True adds state outputs the fused op does not have",
                                     "use the sequence or last output only (return_state=False)", True))
    if kind == "LSTM" and config.get("recurrent_activation") not in (None, "sigmoid"):
        findings.append(LayerFinding(name, kind, f"recurrent_activation={config.get('recurrent_activation')!r} "
                                     "cannot be fused: it becomes a WHILE loop, and full INT8 is skipped",
                                     "use recurrent_activation='sigmoid'", False))
    return findings


def _findings(layer, name: str | None = None) -> list[LayerFinding]:
    kind, name = type(layer).__name__, name or layer.name
    if kind in _NO_BUILTIN:
        return [LayerFinding(name, kind, _NO_BUILTIN[kind], _NO_BUILTIN_FIX[kind], kind != "Lambda")]
    if kind == "Bidirectional":
        config = layer.get_config()
        inner = layer.forward_layer
        findings = _recurrent_findings(inner, type(inner).__name__, name)
        if config.get("layer", {}).get("config", {}).get("return_state") or getattr(inner, "return_state", False):
            findings = [f for f in findings if "return_state" not in f.reason] + [LayerFinding(
                name, "Bidirectional + return_state", "the converters cannot map the forward and backward states "
                "onto fused ops (TFLite) or one bidirectional LSTM output (ONNX)",
                "drop return_state and use the concatenated output", True)]
        return findings
    if kind == "TimeDistributed":
        inner = layer.layer
        if type(inner).__name__ == "Dense":
            return [LayerFinding(name, "TimeDistributed(Dense)", "traced once per time step (one FULLY_CONNECTED "
                                 "per step)", "use Dense on the 3-D tensor: same weights, one op", False)]
        return _findings(inner, name)
    if kind in ("LSTM", "GRU", "SimpleRNN"):
        findings = _recurrent_findings(layer, kind, name)
        if kind == "SimpleRNN":
            findings.append(LayerFinding(name, kind, "not in TFLite Micro (fine on LiteRT and onnxruntime)",
                                         "use an LSTM for microcontrollers", False))
        return findings
    if kind == "Embedding" and layer.get_config().get("mask_zero"):
        return [LayerFinding(name, kind, "mask_zero=True makes the LSTM masked, which does not fuse",
                             "set mask_zero=False and pad on the left", False)]
    if kind == "Masking":
        return [LayerFinding(name, kind, "a masked LSTM does not fuse", "drop Masking and pad on the left", False)]
    return []


def check_layers(model) -> list[LayerFinding]:
    """Advice for ``model``'s layers; ``UnsupportedLayersError`` if any is blocking."""
    findings = [f for layer in model.layers for f in _findings(layer)]
    blocking = [f for f in findings if f.blocking]
    if blocking:
        raise UnsupportedLayersError(blocking)
    return findings
