"""Feature parameters: typed, stored in the bundle manifest under ``features``, shared with training.

    "features": {"kind": "mfcc",
                 "source": {"columns": ["audio"], "sample_rate": 16000},
                 "params": {"n_fft": 512, "win_length": 400, "hop_length": 160, "n_mels": 40, ...}}

``kind`` is ``none`` (the model eats the source's rows as they are: every
bundle written before features existed), ``logmel``, ``mfcc`` or ``frames``.
``source`` says what the device must deliver: the raw columns and their rate
(for ``frames``, the frames per second the camera is sampled at). The model's
window (``input`` in the manifest) then counts feature frames, and its columns
name the feature channels (:meth:`channel_names`; for ``frames`` just ``frame``, one flat
row of ``height * width * colours`` values per camera frame).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar, Protocol

import numpy as np

from edge.errors import ConfigError
from edge.features.audio import StreamingLogMel, StreamingMfcc
from edge.features.frames import NORMALIZE_MODES, FrameFeatures

__all__ = ["FeatureExtractor", "FeatureSpec", "NoFeatures", "LogMelSpec", "MfccSpec", "FrameSpec",
           "FEATURE_KINDS", "feature_spec_from_dict", "Passthrough"]

MEDIA_ROWS, MEDIA_AUDIO, MEDIA_VIDEO = "rows", "audio", "video"


class FeatureExtractor(Protocol):
    """Streaming transform: raw chunks in, feature frames out, chunk-size invariant."""

    dims: int

    def push(self, values: np.ndarray, times: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]: ...

    def reset(self) -> None: ...


class Passthrough:
    """The ``none`` kind: rows go to the window unchanged."""

    def __init__(self, dims: int) -> None:
        self.dims = dims

    def push(self, values: np.ndarray, times: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        rows = np.asarray(values, dtype=np.float32)
        return rows, (np.full(len(rows), np.nan) if times is None else np.asarray(times, dtype=np.float64))

    def reset(self) -> None:
        """Nothing is carried between chunks."""


@dataclass(frozen=True)
class NoFeatures:
    """Raw rows straight into the window (the columns and rate of the manifest's ``input``)."""

    kind: ClassVar[str] = "none"
    media: ClassVar[str] = MEDIA_ROWS

    def to_dict(self) -> dict:
        return {"kind": self.kind}


@dataclass(frozen=True)
class LogMelSpec:
    """Log-mel frames from one audio channel; see :mod:`edge.features.audio` for the recipe.

    Attributes:
        sample_rate: Hz the source is resampled to before framing.
        n_fft: frame length in samples (and FFT size).
        win_length: Hann window length in samples (<= n_fft, centred in the frame).
        hop_length: samples between frames; the frame rate is ``sample_rate / hop_length``.
        n_mels: mel bands.
        fmin, fmax: band edges in Hz (``fmax`` None = Nyquist). The default 7600 Hz leaves out
            the top 5 % below the 8 kHz Nyquist frequency, where every resampler on the way
            (ALSA, PulseAudio, the source's own) rolls off: a model trained on a file at 16 kHz
            then stays valid on a microphone that runs at 44.1 or 48 kHz.
        mel_scale: ``slaney`` (librosa's default) or ``htk``.
        mel_norm: ``slaney`` (equal area per filter, librosa's default) or None (peak 1).
        amin: power floor before the log.
        source_column: name of the audio column the source delivers.
    """

    kind: ClassVar[str] = "logmel"
    media: ClassVar[str] = MEDIA_AUDIO
    sample_rate: float = 16000.0
    n_fft: int = 512
    win_length: int = 400
    hop_length: int = 160
    n_mels: int = 40
    fmin: float = 20.0
    fmax: float | None = 7600.0
    mel_scale: str = "slaney"
    mel_norm: str | None = "slaney"
    amin: float = 1e-10
    source_column: str = "audio"

    def __post_init__(self) -> None:
        if self.sample_rate <= 0 or self.n_fft < 2 or self.hop_length < 1 or self.n_mels < 1:
            raise ConfigError(f"{self.kind}: sample_rate, n_fft, hop_length and n_mels must be positive")
        if not 1 <= self.win_length <= self.n_fft:
            raise ConfigError(f"{self.kind}: win_length must be between 1 and n_fft ({self.n_fft})")
        if self.mel_scale not in ("slaney", "htk") or self.mel_norm not in ("slaney", None):
            raise ConfigError(f"{self.kind}: mel_scale is slaney or htk, mel_norm slaney or null")
        top = self.sample_rate / 2.0 if self.fmax is None else self.fmax
        if not 0.0 <= self.fmin < top <= self.sample_rate / 2.0:
            raise ConfigError(f"{self.kind}: need 0 <= fmin < fmax <= sample_rate/2 (got {self.fmin}, {self.fmax})")

    @property
    def dims(self) -> int:
        return self.n_mels

    @property
    def source_columns(self) -> tuple[str, ...]:
        return (self.source_column,)

    @property
    def source_rate(self) -> float:
        return self.sample_rate

    @property
    def frame_rate(self) -> float:
        """Feature frames per second."""
        return self.sample_rate / self.hop_length

    def channel_names(self) -> list[str]:
        return [f"mel_{i:02d}" for i in range(self.dims)]

    def extractor(self) -> StreamingLogMel:
        return StreamingLogMel(**self._logmel_args())

    def _logmel_args(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in ("sample_rate", "n_fft", "win_length", "hop_length",
                                                        "n_mels", "fmin", "fmax", "mel_scale", "mel_norm", "amin")}

    def transform(self, samples: np.ndarray) -> np.ndarray:
        """A whole recording at ``sample_rate`` -> its feature frames (training uses this)."""
        return self.extractor().push(samples)[0]

    def to_dict(self) -> dict:
        params = {k: v for k, v in asdict(self).items() if k not in ("sample_rate", "source_column")}
        return {"kind": self.kind, "source": {"columns": [self.source_column], "sample_rate": self.sample_rate},
                "params": params}


@dataclass(frozen=True)
class MfccSpec(LogMelSpec):
    """MFCC: the first ``n_mfcc`` orthonormal DCT-II coefficients of the log-mel frame."""

    kind: ClassVar[str] = "mfcc"
    n_mfcc: int = 13

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 1 <= self.n_mfcc <= self.n_mels:
            raise ConfigError(f"mfcc: n_mfcc must be between 1 and n_mels ({self.n_mels}), got {self.n_mfcc}")

    @property
    def dims(self) -> int:
        return self.n_mfcc

    def channel_names(self) -> list[str]:
        return [f"mfcc_{i:02d}" for i in range(self.dims)]

    def extractor(self) -> StreamingMfcc:
        return StreamingMfcc(self.n_mfcc, **self._logmel_args())


@dataclass(frozen=True)
class FrameSpec:
    """Camera frames sampled at ``fps``, resized, optionally grey, normalised and differenced."""

    kind: ClassVar[str] = "frames"
    media: ClassVar[str] = MEDIA_VIDEO
    fps: float = 10.0
    width: int = 160
    height: int = 120
    grayscale: bool = True
    normalize: str = "unit"
    diff: bool = False

    def __post_init__(self) -> None:
        if not self.fps > 0 or self.width < 1 or self.height < 1:
            raise ConfigError("frames: fps, width and height must be positive")
        if self.normalize not in NORMALIZE_MODES:
            raise ConfigError(f"frames: normalize must be one of {', '.join(NORMALIZE_MODES)}")

    @property
    def dims(self) -> int:
        return self.width * self.height * (1 if self.grayscale else 3)

    @property
    def shape(self) -> tuple[int, int, int]:
        """One frame as the model sees it: height, width, colour channels."""
        return (self.height, self.width, 1 if self.grayscale else 3)

    @property
    def source_columns(self) -> tuple[str, ...]:
        return ("frame",)

    @property
    def source_rate(self) -> float:
        return self.fps

    @property
    def frame_rate(self) -> float:
        return self.fps

    def channel_names(self) -> list[str]:
        """One name for the whole flat frame: the manifest records its shape, not every pixel."""
        return ["frame"]

    def extractor(self) -> FrameFeatures:
        return FrameFeatures(self.width, self.height, self.grayscale, self.normalize, self.diff)

    def to_dict(self) -> dict:
        params = {k: v for k, v in asdict(self).items() if k != "fps"}
        return {"kind": self.kind, "source": {"columns": ["frame"], "sample_rate": self.fps}, "params": params}


FeatureSpec = NoFeatures | LogMelSpec | MfccSpec | FrameSpec
FEATURE_KINDS: Mapping[str, type] = {"none": NoFeatures, "logmel": LogMelSpec, "mfcc": MfccSpec, "frames": FrameSpec}


def feature_spec_from_dict(data: Mapping[str, Any] | None) -> FeatureSpec:
    """The manifest's ``features`` object (None or absent = ``none``) -> a spec; ``ConfigError`` if unusable."""
    if data is None:
        return NoFeatures()
    kind = data.get("kind")
    if kind not in FEATURE_KINDS:
        raise ConfigError(f"unknown feature kind {kind!r}; this edgewatch knows {', '.join(FEATURE_KINDS)}")
    cls = FEATURE_KINDS[kind]
    if cls is NoFeatures:
        return NoFeatures()
    params = dict(data.get("params") or {})
    source = data.get("source") or {}
    allowed = {f.name for f in fields(cls)}
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ConfigError(f"{kind} features: unknown parameter(s) {', '.join(unknown)}")
    if cls is FrameSpec:
        params["fps"] = float(source["sample_rate"])
    else:
        params["sample_rate"] = float(source["sample_rate"])
        columns = list(source.get("columns") or ["audio"])
        if len(columns) != 1:
            raise ConfigError(f"{kind} features take one audio column, the manifest names {columns}")
        params["source_column"] = columns[0]
    return cls(**params)
