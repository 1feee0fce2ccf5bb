"""Character generation on the device: the generator bundle's model, sampled with a temperature.

The vocabulary travels in the manifest (``text.vocabulary``: id = index + 1,
0 pads); the model sees the last ``length`` characters and gives the next
character's probabilities.
"""

from __future__ import annotations

import numpy as np

from edge.backends import open_backend
from edge.bundle import Bundle
from edge.errors import ConfigError

__all__ = ["CharGenerator", "sample_next"]


def sample_next(probabilities: np.ndarray, temperature: float, rng: np.random.Generator) -> int:
    """An index drawn from ``probabilities`` sharpened (T < 1) or flattened (T > 1); T = 0 takes the argmax."""
    p = np.clip(np.asarray(probabilities, np.float64).reshape(-1), 0.0, None)
    if temperature <= 0:
        return int(np.argmax(p))
    logits = np.log(p + 1e-12) / temperature
    weights = np.exp(logits - logits.max())
    return int(rng.choice(len(weights), p=weights / weights.sum()))


class CharGenerator:
    """Runs a ``char_generator`` bundle's variant (the default unless named)."""

    def __init__(self, bundle: Bundle, variant: str | None = None) -> None:
        text = bundle.manifest.get("text") or {}
        if text.get("kind") != "chars":
            raise ConfigError(f"bundle '{bundle.model_name}' is not a character generator "
                              "(train one with 'edgewatch train char-generator')")
        self.vocabulary: list[str] = list(text["vocabulary"])
        self.length = int(bundle.manifest["input"]["shape"][1])
        chosen = bundle.variant(variant)
        self._backend = open_backend(chosen.format, chosen.path)

    def encode(self, text: str) -> list[int]:
        """Ids of the characters the vocabulary knows (others are dropped)."""
        index = {c: i + 1 for i, c in enumerate(self.vocabulary)}
        return [index[c] for c in text if c in index]

    def generate(self, prompt: str, length: int, temperature: float = 0.5, seed: int | None = None) -> str:
        """``length`` characters following ``prompt``."""
        rng = np.random.default_rng(seed)
        ids = self.encode(prompt)
        out = []
        for _ in range(length):
            context = ids[-self.length:]
            window = np.asarray([0] * (self.length - len(context)) + context, np.int32)[None]
            choice = sample_next(self._backend.run(window), temperature, rng)
            ids.append(max(choice, 1))  # id 0 is padding, never a character
            out.append(self.vocabulary[max(choice, 1) - 1])
        return "".join(out)

    def close(self) -> None:
        self._backend.close()
