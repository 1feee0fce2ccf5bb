"""Embedding + LSTM text classifier: token ids in (IMDB-style), label probabilities out."""

from __future__ import annotations

from dataclasses import dataclass

from convert.families.base import Family, Task, TokenSpec, embedded_lstm

__all__ = ["TextClassifierSpec", "build_text_classifier", "TEXT_CLASSIFIER"]


@dataclass(frozen=True)
class TextClassifierSpec(TokenSpec):
    """Sequences of ``length`` token ids below ``vocab_size`` -> one of ``classes`` labels."""

    length: int
    vocab_size: int
    classes: int
    embedding: int = 32
    units: int = 32
    prunable = ("units",)


def build_text_classifier(k, spec: TextClassifierSpec, batch_size: int | None = None, unroll: bool = False):
    """Id 0 is padding; no mask (a masked LSTM does not become the fused op), so pad on the left."""
    inputs, hidden = embedded_lstm(k, spec, "tokens", batch_size, unroll)
    outputs = k.layers.Dense(spec.classes, activation="softmax", name="probabilities")(hidden)
    return k.Model(inputs, outputs, name="text_classifier")


TEXT_CLASSIFIER = Family("text_classifier", Task.CLASSIFY, TextClassifierSpec, build_text_classifier,
                         "Embedding + LSTM text classifier (token ids in)")
