"""Training data as the device will see it: CSV rows, or a recording through the device's features.

A WAV file is replayed through the same source and feature code ``edge-infer``
runs (:class:`edge.sources.wav.WavFileSource`, then the bundle's streaming
extractor), so the model trains on exactly the frames it will be fed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from edge.csvdata import Table, read_table
from edge.errors import ConfigError, DataError
from edge.features import FeatureSpec, LogMelSpec, MfccSpec, NoFeatures
from edge.sources.base import StreamRequest
from edge.sources.wav import WAV_SUFFIXES, WavFileSource

__all__ = ["FEATURE_CHOICES", "feature_spec_named", "read_training_table", "table_rate"]

FEATURE_CHOICES = ("none", "logmel", "mfcc")


def feature_spec_named(kind: str) -> FeatureSpec:
    """``--features KIND`` -> the spec with its documented defaults (16 kHz, 40 mels, 10 ms hop)."""
    specs = {"none": NoFeatures(), "logmel": LogMelSpec(), "mfcc": MfccSpec()}
    if kind not in specs:
        raise ConfigError(f"--features must be one of {', '.join(FEATURE_CHOICES)}, got {kind!r}")
    return specs[kind]


def read_training_table(path: Path, features: FeatureSpec, columns: Sequence[str] | None = None) -> Table:
    """Rows the model trains on: the CSV's, or the feature frames of a WAV recording."""
    path = Path(path)
    if isinstance(features, NoFeatures):
        return read_table(path, columns)
    if features.media != "audio" or path.suffix.lower() not in WAV_SUFFIXES:
        raise DataError(f"{path.name}: {features.kind} features are computed from a WAV recording (.wav)")
    source = WavFileSource(path, StreamRequest(features.source_columns, features.source_rate, "audio"))
    extractor = features.extractor()
    frames = [extractor.push(chunk.values)[0] for chunk in source.chunks()]
    values = np.concatenate(frames) if frames else np.empty((0, features.dims), np.float32)
    names = tuple(features.channel_names())
    if columns is not None and tuple(columns) != names:
        raise DataError(f"the model's columns do not match its {features.kind} features; re-train it")
    if len(values) == 0:
        raise DataError(f"{path.name} is shorter than one {features.kind} frame")
    return Table(names, values, None)


def table_rate(table: Table, features: FeatureSpec) -> float | None:
    """Rows per second: the feature frame rate, or what the CSV's timestamps say."""
    return table.sample_rate if isinstance(features, NoFeatures) else features.frame_rate
