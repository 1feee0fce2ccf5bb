"""Character-level LSTM generator: the last ``length`` characters in, next-character probabilities out."""

from __future__ import annotations

from dataclasses import dataclass

from convert.families.base import Family, Task, TokenSpec, embedded_lstm

__all__ = ["CharGeneratorSpec", "build_char_generator", "CHAR_GENERATOR"]


@dataclass(frozen=True)
class CharGeneratorSpec(TokenSpec):
    """Contexts of ``length`` character ids below ``vocab_size``; id 0 pads the left of short prompts."""

    length: int
    vocab_size: int
    embedding: int = 16
    units: int = 64
    prunable = ("units",)


def build_char_generator(k, spec: CharGeneratorSpec, batch_size: int | None = None, unroll: bool = False):
    inputs, hidden = embedded_lstm(k, spec, "context", batch_size, unroll)
    outputs = k.layers.Dense(spec.vocab_size, activation="softmax", name="next_char")(hidden)
    return k.Model(inputs, outputs, name="char_generator")


CHAR_GENERATOR = Family("char_generator", Task.GENERATE, CharGeneratorSpec, build_char_generator,
                        "character-level LSTM text generator (sampled with a temperature)")
