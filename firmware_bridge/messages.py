"""Typed messages of the edgewatch serial protocol (pure data, validated on construction).

Every message carries ``seq``, the sender's u16 sequence number (see ``docs/protocol.md``).
Floats travel as float32, so float fields are rounded to float32 when a message is built;
``decode_frame(encode(m)) == m`` holds for every valid message.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass, field
from typing import Mapping, Union

import numpy as np

from edge.errors import DataError

__all__ = [
    "CRC_SIZE",
    "HEADER_SIZE",
    "MAX_ENCODED",
    "MAX_FRAME",
    "MAX_PAYLOAD",
    "PROTOCOL_VERSION",
    "Config",
    "Heartbeat",
    "InferenceResult",
    "LogLevel",
    "LogLine",
    "Message",
    "MessageType",
    "ResultKind",
    "SampleType",
    "Samples",
]


PROTOCOL_VERSION = 1
HEADER_SIZE = 4  # version u8, type u8, seq u16
CRC_SIZE = 2
MAX_PAYLOAD = 1024
MAX_FRAME = HEADER_SIZE + MAX_PAYLOAD + CRC_SIZE  # 1030 bytes before COBS
MAX_ENCODED = MAX_FRAME + -(-MAX_FRAME // 254)  # 1035 bytes after COBS, delimiter excluded
SAMPLES_HEADER = 4  # channels u8, sample type u8, count u16
MAX_TEXT = MAX_PAYLOAD - 1  # log text bytes after the level byte


class MessageType(enum.IntEnum):
    """The message type byte of a frame."""

    SAMPLES = 0x01
    INFERENCE_RESULT = 0x02
    HEARTBEAT = 0x03
    LOG = 0x04
    CONFIG = 0x05


class SampleType(enum.IntEnum):
    """Encoding of each value in a ``Samples`` payload."""

    INT16 = 0
    FLOAT32 = 1

    @property
    def dtype(self) -> np.dtype:
        """The little-endian numpy dtype of one value."""
        return np.dtype("<i2") if self is SampleType.INT16 else np.dtype("<f4")


class ResultKind(enum.IntEnum):
    """Which fields an ``InferenceResult`` carries."""

    LABEL = 0  # label id + confidence
    SCORE = 1  # anomaly score + threshold


class LogLevel(enum.IntEnum):
    """Severity of a ``LogLine``; values above CRITICAL are reserved."""

    DEBUG = 0
    INFO = 1
    WARNING = 2
    ERROR = 3
    CRITICAL = 4


def _check_seq(seq: int) -> int:
    if not isinstance(seq, (int, np.integer)) or not 0 <= int(seq) <= 0xFFFF:
        raise DataError(f"sequence number must be an integer in 0..65535, got {seq!r}")
    return int(seq)


def _f32(value: float, name: str) -> float:
    """Round to the nearest float32, as the value will travel."""
    try:
        return struct.unpack("<f", struct.pack("<f", float(value)))[0]
    except (OverflowError, TypeError, ValueError) as exc:
        raise DataError(f"{name} must be a float32-representable number, got {value!r}") from exc


def utf8(text: str, name: str) -> bytes:
    """Encode ``text`` as strict UTF-8 (lone surrogates are rejected)."""
    if not isinstance(text, str):
        raise DataError(f"{name} must be a str, got {type(text).__name__}")
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise DataError(f"{name} is not encodable as UTF-8: {exc.reason}") from exc


def _enum(kind: type[enum.IntEnum], value: int, name: str):
    try:
        return kind(value)
    except ValueError as exc:
        raise DataError(f"{name} must be one of {[int(m) for m in kind]}, got {value!r}") from exc


@dataclass(frozen=True, eq=False)
class Samples:
    """A block of sensor samples: ``values`` has shape ``(count, channels)``, row-major on the wire.

    Attributes:
        seq: Sequence number.
        channels: Number of channels, 1..255.
        sample_type: INT16 or FLOAT32; int16 values must be integers within range.
        values: Read-only array of shape ``(count, channels)`` in ``sample_type.dtype``.
    """

    seq: int
    channels: int
    sample_type: SampleType
    values: np.ndarray

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "seq", _check_seq(self.seq))
        set_(self, "sample_type", _enum(SampleType, self.sample_type, "sample_type"))
        if not 1 <= int(self.channels) <= 255:
            raise DataError(f"channels must be in 1..255, got {self.channels!r}")
        set_(self, "channels", int(self.channels))
        set_(self, "values", _sample_array(self.values, self.channels, self.sample_type))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Samples):
            return NotImplemented
        return (self.seq, self.channels, self.sample_type) == (other.seq, other.channels, other.sample_type) \
            and self.values.shape == other.values.shape \
            and bool(np.array_equal(self.values, other.values, equal_nan=self.sample_type is SampleType.FLOAT32))

    __hash__ = None  # type: ignore[assignment]


def _sample_array(values: object, channels: int, sample_type: SampleType) -> np.ndarray:
    """Validate and convert sample values to a read-only ``(count, channels)`` array."""
    arr = np.asarray(values)
    if arr.ndim == 1 and channels == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2 or arr.shape[1] != channels:
        raise DataError(f"values must have shape (count, {channels}), got {arr.shape}")
    if sample_type is SampleType.INT16:
        if arr.size and not np.issubdtype(arr.dtype, np.integer):
            raise DataError(f"int16 samples need integer values, got dtype {arr.dtype}")
        if arr.size and (arr.min() < -32768 or arr.max() > 32767):
            raise DataError("int16 sample values must be within -32768..32767")
    elif arr.size and not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise DataError(f"float32 samples need numeric values, got dtype {arr.dtype}")
    if arr.size * sample_type.dtype.itemsize > MAX_PAYLOAD - SAMPLES_HEADER:
        raise DataError(f"{arr.shape[0]} rows of {channels} {sample_type.name} values exceed the "
                        f"{MAX_PAYLOAD - SAMPLES_HEADER}-byte sample space of one frame")
    out = np.array(arr, dtype=sample_type.dtype, copy=True).reshape(arr.shape[0], channels)
    out.flags.writeable = False
    return out


@dataclass(frozen=True)
class InferenceResult:
    """The outcome of one on-device inference: a label or a score.

    Use ``InferenceResult.label_result`` or ``InferenceResult.score_result`` to build one;
    the fields that do not belong to ``kind`` are ``None``.

    Attributes:
        seq: Sequence number.
        kind: LABEL or SCORE.
        label: Class index 0..65535 (LABEL only).
        confidence: Float32 confidence of the label (LABEL only).
        score: Float32 anomaly score (SCORE only).
        threshold: Float32 threshold the device compared the score with (SCORE only).
    """

    seq: int
    kind: ResultKind
    label: int | None = None
    confidence: float | None = None
    score: float | None = None
    threshold: float | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "seq", _check_seq(self.seq))
        set_(self, "kind", _enum(ResultKind, self.kind, "kind"))
        mine = ("label", "confidence") if self.kind is ResultKind.LABEL else ("score", "threshold")
        for name in ("label", "confidence", "score", "threshold"):
            value = getattr(self, name)
            if (value is None) == (name in mine):
                raise DataError(f"a {self.kind.name} result needs exactly the fields {mine}")
        if self.kind is ResultKind.LABEL:
            if not isinstance(self.label, (int, np.integer)) or not 0 <= int(self.label) <= 0xFFFF:
                raise DataError(f"label must be an integer in 0..65535, got {self.label!r}")
            set_(self, "label", int(self.label))
        for name in mine:
            if name != "label":
                set_(self, name, _f32(getattr(self, name), name))

    @classmethod
    def label_result(cls, seq: int, label: int, confidence: float) -> InferenceResult:
        """A classification result."""
        return cls(seq, ResultKind.LABEL, label=label, confidence=confidence)

    @classmethod
    def score_result(cls, seq: int, score: float, threshold: float) -> InferenceResult:
        """An anomaly-score result."""
        return cls(seq, ResultKind.SCORE, score=score, threshold=threshold)


@dataclass(frozen=True)
class Heartbeat:
    """Sign of life. Attributes: seq; uptime_ms (u32, wraps after ~49.7 days)."""

    seq: int
    uptime_ms: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "seq", _check_seq(self.seq))
        if not isinstance(self.uptime_ms, (int, np.integer)) or not 0 <= int(self.uptime_ms) <= 0xFFFFFFFF:
            raise DataError(f"uptime_ms must be an integer in 0..2**32-1, got {self.uptime_ms!r}")
        object.__setattr__(self, "uptime_ms", int(self.uptime_ms))


@dataclass(frozen=True)
class LogLine:
    """One line of device log. Attributes: seq; level; text (at most 1023 UTF-8 bytes)."""

    seq: int
    level: LogLevel
    text: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "seq", _check_seq(self.seq))
        object.__setattr__(self, "level", _enum(LogLevel, self.level, "level"))
        if len(utf8(self.text, "log text")) > MAX_TEXT:
            raise DataError(f"log text is longer than {MAX_TEXT} UTF-8 bytes")


@dataclass(frozen=True)
class Config:
    """Configuration key/value pairs, applied in order.

    Attributes:
        seq: Sequence number.
        entries: Keys of 1..255 UTF-8 bytes, values of 0..255 UTF-8 bytes, at most 255 pairs.
    """

    seq: int
    entries: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "seq", _check_seq(self.seq))
        entries = dict(self.entries)
        if len(entries) > 255:
            raise DataError(f"a config message holds at most 255 entries, got {len(entries)}")
        size = 1
        for key, value in entries.items():
            key_len, value_len = len(utf8(key, "config key")), len(utf8(value, "config value"))
            if not 1 <= key_len <= 255 or value_len > 255:
                raise DataError(f"config key {key!r} must be 1..255 and its value 0..255 UTF-8 bytes")
            size += 2 + key_len + value_len
        if size > MAX_PAYLOAD:
            raise DataError(f"config entries take {size} bytes, more than the {MAX_PAYLOAD}-byte payload")
        object.__setattr__(self, "entries", entries)


Message = Union[Samples, InferenceResult, Heartbeat, LogLine, Config]
