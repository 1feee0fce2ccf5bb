"""Model families edgewatch trains and converts, found by name."""

from __future__ import annotations

from convert.families.autoencoder import AUTOENCODER, AutoencoderSpec
from convert.families.base import Family, Spec, Task
from convert.families.char_generator import CHAR_GENERATOR, CharGeneratorSpec
from convert.families.classifier import CLASSIFIERS, ClassifierSpec
from convert.families.cnn_lstm import CNN_LSTM, CnnLstmSpec
from convert.families.forecaster import FORECASTER, ForecasterSpec
from convert.families.text_classifier import TEXT_CLASSIFIER, TextClassifierSpec
from edge.errors import ConfigError

__all__ = ["FAMILIES", "get_family", "Family", "Spec", "Task", "AutoencoderSpec", "ClassifierSpec",
           "ForecasterSpec", "CnnLstmSpec", "TextClassifierSpec", "CharGeneratorSpec"]

FAMILIES: dict[str, Family] = {
    f.name: f for f in (AUTOENCODER, *CLASSIFIERS.values(), FORECASTER, CNN_LSTM, TEXT_CLASSIFIER, CHAR_GENERATOR)
}


def get_family(name: str) -> Family:
    """The family called ``name``; ``ConfigError`` lists the known ones."""
    if name not in FAMILIES:
        raise ConfigError(f"unknown model family {name!r}; known: {', '.join(FAMILIES)}")
    return FAMILIES[name]
