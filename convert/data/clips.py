"""Labelled recordings, one directory per label (spoken keywords, camera videos), through the device's features.

    DIR/alarm/*.wav        every recording in a label's directory is an example of that label
    DIR/background/*.wav   (the background label raises no event on the device)
    DIR/stop/*.wav

Each recording is replayed through the source ``edge-infer`` would open for it (a
WAV through the microphone's audio path, a video through the camera loop sampled
at the features' frame rate) and the streaming extractor the bundle names; its
windows of ``window`` frames every ``hop`` frames are examples of its label. So a
recording as long as one window gives one example (trim keyword clips around the
word), a longer one several. Validation and held-out recordings are whole ones,
drawn per label with the seed, so no recording's windows straddle the split.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from calibration.dataset import make_windows
from convert.data.base import Dataset, DataOptions, split_indices
from convert.recordings import feature_spec_named, read_training_table, recording_suffixes
from edge.bundle import sha256_file
from edge.errors import ConfigError, DataError
from edge.features import FeatureSpec, FrameSpec, NoFeatures
from edge.scaler import StandardScaler

__all__ = ["load_labelled_clips", "find_recordings", "MIN_RECORDINGS"]

MIN_RECORDINGS = 3  # per label: one each for training, validation and the held-out part


def find_recordings(root: Path, features: FeatureSpec) -> dict[str, list[Path]]:
    """Label -> its recordings (sorted), from the label directories under ``root``."""
    suffixes = recording_suffixes(features)
    labels = sorted(d for d in Path(root).iterdir() if d.is_dir() and not d.name.startswith("."))
    found = {d.name: sorted(f for f in d.iterdir() if f.is_file() and f.suffix.lower() in suffixes) for d in labels}
    if len(found) < 2:
        raise DataError(f"{Path(root).name} needs one directory per label (at least 2) holding recordings "
                        f"({', '.join(suffixes)}); found {len(found)}")
    short = [f"{label} ({len(files)})" for label, files in found.items() if len(files) < MIN_RECORDINGS]
    if short:
        raise DataError(f"{Path(root).name}: every label needs at least {MIN_RECORDINGS} recordings "
                        f"({', '.join(suffixes)}) for training, validation and the held-out part; "
                        f"too few in: {', '.join(short)}")
    return found


def _windows(path: Path, features: FeatureSpec, window: int, hop: int) -> np.ndarray:
    rows = read_training_table(path, features).values
    if len(rows) < window:
        kind = "frames" if isinstance(features, FrameSpec) else f"{features.kind} frames"
        raise DataError(f"{path.parent.name}/{path.name} gives {len(rows)} {kind}, fewer than one window of "
                        f"{window} ({window / features.frame_rate:.2f} s): use longer recordings or a smaller --window")
    return make_windows(rows, window, hop)


def _digest(files: dict[str, list[Path]]) -> str:
    """One sha256 for the whole set: each recording's label, name and sha256."""
    digest = hashlib.sha256()
    for label, paths in files.items():
        for path in paths:
            digest.update(f"{label}/{path.name}\0{sha256_file(path)}\n".encode())
    return digest.hexdigest()


def load_labelled_clips(path: Path, options: DataOptions, scaler: StandardScaler | None = None) -> Dataset:
    """Windows of every recording, split by recording; see the module docstring."""
    features = feature_spec_named(options.features, options.feature_params)
    if isinstance(features, NoFeatures):
        raise ConfigError("a directory of recordings needs --features: mfcc or logmel (WAV), frames (video)")
    files = find_recordings(path, features)
    labels = list(files)
    hop = options.resolved_hop()
    clips = [(labels.index(label), _windows(f, features, options.window, hop))
             for label, paths in files.items() for f in paths]
    owners = np.asarray([label for label, _ in clips])
    train, val, test = split_indices(owners, (options.holdout_fraction, options.validation_fraction), options.seed)
    gather = lambda idx: (np.concatenate([clips[i][1] for i in idx]),  # noqa: E731
                          np.concatenate([[clips[i][0]] * len(clips[i][1]) for i in idx]).astype(np.int64))
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = gather(train), gather(val), gather(test)
    shape = features.shape if isinstance(features, FrameSpec) else (features.dims,)
    as_model = lambda x: x.reshape(len(x), options.window, *shape)  # noqa: E731 - frames: (N, T, H, W, C)
    scaler = scaler or StandardScaler.fit(x_train.reshape(-1, shape[-1]))
    meta = {"window": options.window, "hop": hop, "columns": features.channel_names(), "labels": labels,
            "sample_rate": features.frame_rate, "scaler": scaler.to_dict(), "features": features.to_dict(),
            "data": {"file": Path(path).name, "sha256": _digest(files), "rows": int(sum(len(w) for _, w in clips)),
                     "recordings": {label: len(paths) for label, paths in files.items()}}}
    if isinstance(features, FrameSpec):
        meta["frame_shape"] = list(features.shape)
    return Dataset(scaler.transform(as_model(x_train)), y_train, scaler.transform(as_model(x_val)), y_val,
                   scaler.transform(as_model(x_test)), y_test, y_train, meta)
