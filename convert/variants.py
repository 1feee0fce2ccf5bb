"""The artifacts edgewatch makes from one model, and how each is built (or why it is skipped).

    fp32           TFLite, fused LSTM, float                      the baseline
    float16        TFLite, float16 weights                         half the size, float compute
    dynamic        TFLite, dynamic-range INT8 weights              float activations
    int8           TFLite, full INT8 with INT8 in/out, fused LSTM  smallest; slow on x86 reference kernels
    int8_unrolled  TFLite, full INT8 of the unrolled graph         XNNPACK-fast, for short windows
    onnx           ONNX FP32 (tf2onnx)
    onnx_dynamic   ONNX dynamic INT8 (DynamicQuantizeLSTM)
    onnx_qdq       ONNX static QDQ INT8, LSTM/GRU weights included
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from calibration.dataset import CalibrationMethod, RepresentativeDataset
from convert.export import Precision, rebuild, to_onnx, to_tflite
from convert.families import Family, Spec
from convert.onnx_quant import compact_onnx, quantize_onnx_dynamic, quantize_onnx_static
from convert.preflight import tflite_ops_of

__all__ = ["VariantRecipe", "VARIANTS", "ConversionInputs", "Built", "Skipped", "build_variants",
           "DEFAULT_MAX_UNROLL_STEPS"]

DEFAULT_MAX_UNROLL_STEPS = 128


@dataclass(frozen=True)
class VariantRecipe:
    name: str
    file: str
    format: str
    precision: str
    graph: str  # fused | unrolled | onnx


VARIANTS: dict[str, VariantRecipe] = {r.name: r for r in (
    VariantRecipe("fp32", "model_fp32.tflite", "tflite", "fp32", "fused"),
    VariantRecipe("float16", "model_float16.tflite", "tflite", "float16 weights", "fused"),
    VariantRecipe("dynamic", "model_dynamic.tflite", "tflite", "dynamic-range int8", "fused"),
    VariantRecipe("int8", "model_int8.tflite", "tflite", "int8", "fused"),
    VariantRecipe("int8_unrolled", "model_int8_unrolled.tflite", "tflite", "int8, unrolled graph", "unrolled"),
    VariantRecipe("onnx", "model.onnx", "onnx", "fp32", "onnx"),
    VariantRecipe("onnx_dynamic", "model_dynamic.onnx", "onnx", "dynamic int8", "onnx"),
    VariantRecipe("onnx_qdq", "model_qdq.onnx", "onnx", "static QDQ int8", "onnx"),
)}


@dataclass
class ConversionInputs:
    """What every variant is built from; the rebuilt graphs are made once, on first use."""

    model: object  # the Keras 3 model
    family: Family
    spec: Spec
    representative: RepresentativeDataset
    calibration: CalibrationMethod = CalibrationMethod.MINMAX
    max_unroll_steps: int = DEFAULT_MAX_UNROLL_STEPS
    onnx_source: bytes | None = None  # the model came as ONNX: only ONNX variants apply
    _cache: dict = field(default_factory=dict)

    def cached(self, key: str, make: Callable[[], object]):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    @property
    def steps(self) -> int:
        return int(self.spec.input_shape[0])


@dataclass(frozen=True)
class Built:
    recipe: VariantRecipe
    content: bytes


@dataclass(frozen=True)
class Skipped:
    recipe: VariantRecipe
    reason: str


def _skip_reason(name: str, inputs: ConversionInputs) -> str | None:
    if inputs.onnx_source is not None and VARIANTS[name].format == "tflite":
        return "the model came as ONNX: TFLite variants need the Keras model (.keras, .h5 or SavedModel)"
    if name == "int8" and "WHILE" in inputs._cache.get("fp32_ops", ()):
        return ("the FP32 graph still has a WHILE loop (a recurrent layer that does not fuse), whose full-INT8 "
                "calibration crashes (tensorflow#75140); int8_unrolled is the INT8 route for it")
    if name == "int8" and inputs.family.recurrent == "gru":
        return ("GRU has no fused TFLite op: its graph is a WHILE loop, whose full-INT8 calibration crashes "
                "(tensorflow#75140); int8_unrolled is the INT8 route for GRU")
    if name == "int8_unrolled" and inputs.steps > inputs.max_unroll_steps:
        return (f"{inputs.steps} time steps are too many to unroll (limit {inputs.max_unroll_steps}, "
                "--max-unroll-steps): the graph grows with every step")
    return None


def _build(name: str, inputs: ConversionInputs) -> bytes:
    fused = lambda: inputs.cached("fused", lambda: rebuild(inputs.model, inputs.family, inputs.spec))  # noqa: E731
    onnx = lambda: inputs.onnx_source or inputs.cached("onnx", lambda: to_onnx(inputs.model, inputs.spec))  # noqa: E731
    if name == "int8_unrolled":
        unrolled = inputs.cached("unrolled", lambda: rebuild(inputs.model, inputs.family, inputs.spec, unroll=True))
        return to_tflite(unrolled, Precision.INT8, inputs.representative)
    if name in ("fp32", "float16", "dynamic", "int8"):
        content = to_tflite(fused(), Precision(name), inputs.representative)
        if name == "fp32":
            inputs._cache["fp32_ops"] = tflite_ops_of(content)
        return content
    if name == "onnx":
        return compact_onnx(onnx())
    if name == "onnx_dynamic":
        return compact_onnx(quantize_onnx_dynamic(onnx()))
    return compact_onnx(quantize_onnx_static(onnx(), inputs.representative, inputs.calibration))


def build_variants(inputs: ConversionInputs, names: list[str] | None = None,
                   step: Callable[[str], None] = lambda _: None) -> dict[str, Built | Skipped]:
    """Build each named variant (all by default), or record why it does not apply to this model."""
    results: dict[str, Built | Skipped] = {}
    for name in names or list(VARIANTS):
        recipe = VARIANTS[name]
        reason = _skip_reason(name, inputs)
        if reason:
            results[name] = Skipped(recipe, reason)
            continue
        step(f"converting {name} -> {recipe.file}")
        results[name] = Built(recipe, _build(name, inputs))
    return results
