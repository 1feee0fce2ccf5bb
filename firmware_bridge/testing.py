"""Random messages and noisy byte streams, for tests of the protocol and of its adapters.

Deterministic given a ``random.Random``; no hypothesis dependency, so property tests can
draw a seed and a fuzz loop, a serial-port test or a C driver can replay the same bytes.
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass, field

import numpy as np

from firmware_bridge.codec import encode
from firmware_bridge.messages import (
    MAX_ENCODED,
    MAX_PAYLOAD,
    MAX_TEXT,
    SAMPLES_HEADER,
    Config,
    Heartbeat,
    InferenceResult,
    LogLevel,
    LogLine,
    Message,
    Samples,
    SampleType,
)

__all__ = ["NoisyStream", "count_segments", "frame_pool", "noisy_stream", "random_message"]

_ALPHABET = "abcdefghijklmnopqrstuvwxyz_ .0123456789éß€⚠\x00\n漢🙂"


def _f32(rng: random.Random) -> float:
    """A random finite float32 drawn from its bit patterns (any exponent, subnormals included)."""
    while True:
        value = struct.unpack("<f", rng.getrandbits(32).to_bytes(4, "little"))[0]
        if value == value and abs(value) != float("inf"):
            return value


def _text(rng: random.Random, max_bytes: int, length: int) -> str:
    text = "".join(rng.choice(_ALPHABET) for _ in range(length))
    while len(text.encode("utf-8")) > max_bytes:
        text = text[:-1]
    return text


def _samples(rng: random.Random, seq: int) -> Samples:
    stype = rng.choice(list(SampleType))
    channels = rng.choice([1, 1, 2, 3, 8, rng.randint(1, 255)])
    max_rows = (MAX_PAYLOAD - SAMPLES_HEADER) // (channels * stype.dtype.itemsize)
    rows = rng.choice([0, 1, rng.randint(0, min(max_rows, 40)), max_rows])
    raw = rng.randbytes(rows * channels * stype.dtype.itemsize)
    if rng.random() < 0.3:
        raw = bytes(b if rng.random() < 0.2 else 0 for b in raw)  # zero-heavy, many COBS blocks
    values = np.frombuffer(raw, dtype=stype.dtype).reshape(rows, channels)
    return Samples(seq, channels, stype, values)


def random_message(rng: random.Random, seq: int | None = None) -> Message:
    """A valid message of a random type with random, sometimes extreme, fields."""
    seq = rng.randint(0, 0xFFFF) if seq is None else seq
    kind = rng.randrange(6)
    if kind == 0:
        return _samples(rng, seq)
    if kind == 1:
        return InferenceResult.label_result(seq, rng.randint(0, 0xFFFF), _f32(rng))
    if kind == 2:
        return InferenceResult.score_result(seq, _f32(rng), _f32(rng))
    if kind == 3:
        return Heartbeat(seq, rng.choice([0, 0xFFFFFFFF, rng.getrandbits(32)]))
    if kind == 4:
        length = rng.choice([0, rng.randint(1, 60), MAX_TEXT])
        return LogLine(seq, rng.choice(list(LogLevel)), _text(rng, MAX_TEXT, length))
    entries = {_text(rng, 255, rng.randint(1, 12)) or "k": _text(rng, 255, rng.randint(0, 20))
               for _ in range(rng.randint(0, 6))}
    return Config(seq, entries)


@dataclass
class NoisyStream:
    """A byte stream of frames and damage.

    Attributes:
        data: The bytes, ending in 0x00 so that every frame in it is terminated.
        recoverable: Messages of the intact frames that follow a delimiter (or the
            start): a correct decoder returns them, in this order, among its output.
        parts: Names of the pieces, in order, for failure messages.
    """

    data: bytes
    recoverable: list[Message] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)


def _damage(rng: random.Random, frame: bytes, how: str) -> bytes:
    """Break a wire frame the way a UART does; the result keeps its delimiter unless truncated."""
    body = bytearray(frame[:-1])
    if how == "truncated":
        return bytes(body[:rng.randint(1, len(body) - 1)]) if len(body) > 1 else b""
    if how == "flip":
        for _ in range(rng.randint(1, 3)):
            body[rng.randrange(len(body))] ^= 1 << rng.randrange(8)
    elif how == "drop":
        del body[rng.randrange(len(body))]
    elif how == "insert":
        body.insert(rng.randint(0, len(body)), rng.randint(0, 255))
    return bytes(body) + b"\x00"


def _garbage(rng: random.Random) -> bytes:
    if rng.random() < 0.05:
        return bytes(rng.randint(1, 255) for _ in range(rng.randint(MAX_ENCODED - 2, 3 * MAX_ENCODED)))
    pick = rng.random()
    if pick < 0.3:
        return bytes(rng.choice((0, 1, 2, 0xFE, 0xFF)) for _ in range(rng.randint(1, 16)))
    return rng.randbytes(rng.randint(1, 64))


def noisy_stream(rng: random.Random, pool: list[tuple[bytes, Message]], parts: int = 8) -> NoisyStream:
    """Splice frames from ``pool`` (``(encode(m), m)`` pairs) with garbage and damaged frames.

    Args:
        rng: Source of randomness.
        pool: Encoded frames and their messages to draw from.
        parts: Number of pieces in the stream.

    Returns:
        The stream and the messages a decoder must recover from it.
    """
    out, stream = bytearray(), NoisyStream(b"")
    for _ in range(parts):
        how = rng.choice(("frame", "frame", "frame", "garbage", "truncated", "flip", "drop", "insert", "zero"))
        if how in ("garbage", "zero"):
            piece = _garbage(rng) if how == "garbage" else b"\x00"
        else:
            frame, message = rng.choice(pool)
            piece = frame if how == "frame" else _damage(rng, frame, how)
            if how == "frame" and (not out or out[-1] == 0):
                stream.recoverable.append(message)
        out += piece
        stream.parts.append(how)
    out.append(0)
    stream.data = bytes(out)
    return stream


def count_segments(data: bytes) -> int:
    """Non-empty runs of bytes terminated by a 0x00: the frames a decoder sees in ``data``."""
    return sum(1 for segment in data.split(b"\x00")[:-1] if segment)


def frame_pool(rng: random.Random, size: int) -> list[tuple[bytes, Message]]:
    """``size`` random messages with consecutive sequence numbers, encoded."""
    start = rng.randint(0, 0xFFFF)
    messages = [random_message(rng, (start + i) % 0x10000) for i in range(size)]
    return [(encode(m), m) for m in messages]
