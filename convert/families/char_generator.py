"""Character-level LSTM generator: the last ``length`` characters in, next-character probabilities out."""

from __future__ import annotations

from dataclasses import dataclass

from convert.families.base import Family, Spec, Task

__all__ = ["CharGeneratorSpec", "build_char_generator", "CHAR_GENERATOR"]


@dataclass(frozen=True)
class CharGeneratorSpec(Spec):
    """Contexts of ``length`` character ids below ``vocab_size``; id 0 pads the left of short prompts."""

    length: int
    vocab_size: int
    embedding: int = 16
    units: int = 64
    prunable = ("units",)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (self.length,)

    @property
    def input_dtype(self) -> str:
        return "int32"


def build_char_generator(k, spec: CharGeneratorSpec, batch_size: int | None = None, unroll: bool = False):
    inputs = k.Input(shape=(spec.length,), batch_size=batch_size, dtype="int32", name="context")
    embedded = k.layers.Embedding(spec.vocab_size, spec.embedding, name="embedding")(inputs)
    hidden = k.layers.LSTM(spec.units, unroll=unroll, name="lstm")(embedded)
    outputs = k.layers.Dense(spec.vocab_size, activation="softmax", name="next_char")(hidden)
    return k.Model(inputs, outputs, name="char_generator")


CHAR_GENERATOR = Family("char_generator", Task.GENERATE, CharGeneratorSpec, build_char_generator,
                        "character-level LSTM text generator (sampled with a temperature)")
