"""Training data as the device will see it: CSV rows, or a recording through the device's features.

A WAV file or a video is replayed through the same source and feature code
``edge-infer`` runs (``file:`` replay: :class:`edge.sources.wav.WavFileSource`, or the
camera loop sampled at the features' frame rate; then the bundle's streaming
extractor), so the model trains on exactly the frames it will be fed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from edge.csvdata import Table, read_table
from edge.errors import ConfigError, DataError
from edge.features import FeatureSpec, FrameSpec, LogMelSpec, MfccSpec, NoFeatures
from edge.sources import open_source

__all__ = ["FEATURE_CHOICES", "feature_spec_named", "read_training_table", "table_rate", "recording_suffixes"]

FEATURE_CHOICES = ("none", "logmel", "mfcc", "frames")
_SPECS = {"none": NoFeatures, "logmel": LogMelSpec, "mfcc": MfccSpec, "frames": FrameSpec}


def feature_spec_named(kind: str, params: Mapping[str, Any] | None = None) -> FeatureSpec:
    """``--features KIND`` (and its parameters) -> the spec; defaults: 16 kHz, 40 mels, 10 ms hop; 10 fps 160x120."""
    if kind not in _SPECS:
        raise ConfigError(f"--features must be one of {', '.join(FEATURE_CHOICES)}, got {kind!r}")
    if kind == "none":
        return NoFeatures()
    try:
        return _SPECS[kind](**dict(params or {}))
    except TypeError as exc:
        raise ConfigError(f"{kind} features: {exc}") from exc


def recording_suffixes(features: FeatureSpec) -> tuple[str, ...]:
    """File types a recording for these features may have (WAV for audio, video files for frames)."""
    if features.media == "audio":
        from edge.sources.wav import WAV_SUFFIXES

        return WAV_SUFFIXES
    from edge.sources.camera import VIDEO_SUFFIXES

    return VIDEO_SUFFIXES


def read_training_table(path: Path, features: FeatureSpec, columns: Sequence[str] | None = None) -> Table:
    """Rows the model trains on: the CSV's, or the feature frames of a recording (WAV or video)."""
    path = Path(path)
    if isinstance(features, NoFeatures):
        return read_table(path, columns)
    suffixes = recording_suffixes(features)
    if path.suffix.lower() not in suffixes:
        raise DataError(f"{path.name}: {features.kind} features are computed from a recording "
                        f"({', '.join(suffixes)})")
    source = open_source(f"file:{path}", features.source_columns, sample_rate=features.source_rate,
                         media=features.media)
    extractor = features.extractor()
    try:
        frames = [extractor.push(chunk.values, chunk.times)[0] for chunk in source.chunks()]
    finally:
        source.close()
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
