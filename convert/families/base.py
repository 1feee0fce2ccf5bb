"""What every model family provides: a typed spec, one builder for Keras 3 and tf_keras, and its task.

A family's builder takes the Keras-like module (``keras`` for training, ``tf_keras``
for the batch-1 rebuild that yields fused LSTM ops) so one function defines the
architecture for both, and the trained weights copy across exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from enum import Enum
from typing import Any, ClassVar

from edge.errors import ConfigError

__all__ = ["Task", "Family", "Spec"]


class Task(str, Enum):
    """What a model's output means, and so how it is evaluated and turned into a decision."""

    RECONSTRUCT = "reconstruct"  # autoencoder: score = reconstruction error
    CLASSIFY = "classify"  # softmax over labels: accuracy, argmax agreement
    FORECAST = "forecast"  # next rows: score = forecast error
    GENERATE = "generate"  # next-token softmax, sampled on the device


@dataclass(frozen=True)
class Spec:
    """Base of the family specs: plain fields, serialised into the sidecar and the manifest."""

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict):
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"{cls.__name__} has no field(s) {', '.join(sorted(unknown))}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one model input, without the batch axis."""
        raise NotImplementedError

    @property
    def input_dtype(self) -> str:
        return "float32"

    def with_units(self, fraction: float) -> "Spec":
        """The same spec with every prunable width scaled by ``fraction`` (at least 1)."""
        changes = {name: max(1, round(getattr(self, name) * fraction)) for name in self.prunable}
        return replace(self, **changes)

    prunable: ClassVar[tuple[str, ...]] = ()  # spec fields structured pruning may shrink


class TokenSpec(Spec):
    """Base of the text families: ``length`` int32 token ids below ``vocab_size`` in, an Embedding + LSTM inside."""

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (self.length,)

    @property
    def input_dtype(self) -> str:
        return "int32"


def embedded_lstm(k, spec: TokenSpec, input_name: str, batch_size: int | None, unroll: bool):
    """The text families' trunk: token ids -> Embedding -> LSTM; returns (inputs, last hidden state)."""
    inputs = k.Input(shape=(spec.length,), batch_size=batch_size, dtype="int32", name=input_name)
    embedded = k.layers.Embedding(spec.vocab_size, spec.embedding, name="embedding")(inputs)
    return inputs, k.layers.LSTM(spec.units, unroll=unroll, name="lstm")(embedded)


Builder = Callable[..., Any]


@dataclass(frozen=True)
class Family:
    """A model family: its name (in sidecars and manifests), task, spec type and builder.

    ``build(k, spec, batch_size=None, unroll=False)`` returns an uncompiled model
    built with the Keras-like module ``k``.
    """

    name: str
    task: Task
    spec_type: type
    build: Builder
    description: str
    recurrent: str = "lstm"  # the recurrent cell: lstm (fused in TFLite), gru (no fused TFLite op)

    def spec(self, data: dict) -> Spec:
        return self.spec_type.from_dict(data)
