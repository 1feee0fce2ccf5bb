"""Encode and decode single frames of the edgewatch serial protocol (pure, no I/O).

Wire frame (``docs/protocol.md`` is the specification)::

    COBS( version u8 | type u8 | seq u16 | payload | crc16 u16 ) 0x00

All integers little-endian, floats IEEE-754 float32, no padding. The CRC is
CRC-16/CCITT-FALSE over version..payload.
"""

from __future__ import annotations

import struct

import numpy as np

from firmware_bridge.cobs import cobs_decode, cobs_encode
from firmware_bridge.crc import crc16
from firmware_bridge.errors import FrameError, FrameErrorKind
from firmware_bridge.messages import (
    CRC_SIZE,
    HEADER_SIZE,
    MAX_ENCODED,
    MAX_FRAME,
    MAX_PAYLOAD,
    PROTOCOL_VERSION,
    SAMPLES_HEADER,
    Config,
    Heartbeat,
    InferenceResult,
    LogLevel,
    LogLine,
    Message,
    MessageType,
    ResultKind,
    Samples,
    SampleType,
)

__all__ = ["decode_frame", "encode", "encode_payload", "message_type"]

_HEADER = struct.Struct("<BBH")
_CRC = struct.Struct("<H")
_LABEL = struct.Struct("<BHf")
_SCORE = struct.Struct("<Bff")
_U32 = struct.Struct("<I")
_TYPES = {Samples: MessageType.SAMPLES, InferenceResult: MessageType.INFERENCE_RESULT,
          Heartbeat: MessageType.HEARTBEAT, LogLine: MessageType.LOG, Config: MessageType.CONFIG}


def message_type(message: Message) -> MessageType:
    """The type byte for ``message``; raises ``TypeError`` for anything else."""
    try:
        return _TYPES[type(message)]
    except KeyError:
        raise TypeError(f"not a protocol message: {type(message).__name__}") from None


def encode_payload(message: Message) -> bytes:
    """The payload bytes of ``message`` (no header, CRC or framing)."""
    if isinstance(message, Samples):
        count = message.values.shape[0]
        head = struct.pack("<BBH", message.channels, message.sample_type, count)
        return head + message.values.astype(message.sample_type.dtype, copy=False).tobytes(order="C")
    if isinstance(message, InferenceResult):
        if message.kind is ResultKind.LABEL:
            return _LABEL.pack(message.kind, message.label, message.confidence)
        return _SCORE.pack(message.kind, message.score, message.threshold)
    if isinstance(message, Heartbeat):
        return _U32.pack(message.uptime_ms)
    if isinstance(message, LogLine):
        return bytes([message.level]) + message.text.encode("utf-8")
    if isinstance(message, Config):
        out = bytearray([len(message.entries)])
        for key, value in message.entries.items():
            for part in (key.encode("utf-8"), value.encode("utf-8")):
                out.append(len(part))
                out += part
        return bytes(out)
    raise TypeError(f"not a protocol message: {type(message).__name__}")


def encode(message: Message) -> bytes:
    """Encode ``message`` as one complete wire frame, trailing 0x00 delimiter included.

    Args:
        message: A ``Samples``, ``InferenceResult``, ``Heartbeat``, ``LogLine`` or ``Config``.

    Returns:
        ``COBS(header + payload + crc) + b"\\x00"``, at most ``MAX_ENCODED + 1`` bytes.

    Raises:
        TypeError: ``message`` is not a protocol message.
    """
    payload = encode_payload(message)
    assert len(payload) <= MAX_PAYLOAD, "message validation must bound the payload"
    body = _HEADER.pack(PROTOCOL_VERSION, message_type(message), message.seq) + payload
    return cobs_encode(body + _CRC.pack(crc16(body))) + b"\x00"


def decode_frame(frame: bytes) -> Message:
    """Decode one wire frame into its message.

    Args:
        frame: COBS-encoded frame; one trailing 0x00 delimiter is allowed.

    Returns:
        The decoded message.

    Raises:
        FrameError: with ``kind`` saying why the frame is unusable. Checks run in the
            order OVERSIZE, COBS, LENGTH/OVERSIZE, CRC, VERSION, TYPE, FORMAT.
    """
    frame = bytes(frame)
    if frame.endswith(b"\x00"):
        frame = frame[:-1]
    if len(frame) > MAX_ENCODED:
        raise FrameError(FrameErrorKind.OVERSIZE, f"{len(frame)} encoded bytes > {MAX_ENCODED}")
    raw = cobs_decode(frame)
    if len(raw) < HEADER_SIZE + CRC_SIZE:
        raise FrameError(FrameErrorKind.LENGTH, f"{len(raw)} bytes < {HEADER_SIZE + CRC_SIZE}")
    if len(raw) > MAX_FRAME:
        raise FrameError(FrameErrorKind.OVERSIZE, f"{len(raw)} decoded bytes > {MAX_FRAME}")
    body, (crc,) = raw[:-CRC_SIZE], _CRC.unpack_from(raw, len(raw) - CRC_SIZE)
    if crc16(body) != crc:
        raise FrameError(FrameErrorKind.CRC, f"crc 0x{crc:04X} != computed 0x{crc16(body):04X}")
    version, type_byte, seq = _HEADER.unpack_from(body)
    if version != PROTOCOL_VERSION:
        raise FrameError(FrameErrorKind.VERSION, f"version {version}, expected {PROTOCOL_VERSION}")
    parser = _PARSERS.get(type_byte)
    if parser is None:
        raise FrameError(FrameErrorKind.TYPE, f"unknown message type 0x{type_byte:02X}")
    return parser(seq, body[HEADER_SIZE:])


def _bad(detail: str) -> FrameError:
    return FrameError(FrameErrorKind.FORMAT, detail)


def _parse_samples(seq: int, payload: bytes) -> Samples:
    if len(payload) < SAMPLES_HEADER:
        raise _bad(f"samples payload of {len(payload)} bytes has no header")
    channels, stype, count = struct.unpack_from("<BBH", payload)
    if channels == 0 or stype not in (SampleType.INT16, SampleType.FLOAT32):
        raise _bad(f"samples with {channels} channels of sample type {stype}")
    dtype = SampleType(stype).dtype
    if len(payload) - SAMPLES_HEADER != count * channels * dtype.itemsize:
        raise _bad(f"{count} x {channels} {dtype} values do not fill {len(payload) - SAMPLES_HEADER} bytes")
    values = np.frombuffer(payload, dtype=dtype, offset=SAMPLES_HEADER).reshape(count, channels)
    return Samples(seq, channels, SampleType(stype), values)


def _parse_result(seq: int, payload: bytes) -> InferenceResult:
    if payload[:1] == bytes([ResultKind.LABEL]) and len(payload) == _LABEL.size:
        _, label, confidence = _LABEL.unpack(payload)
        return InferenceResult.label_result(seq, label, confidence)
    if payload[:1] == bytes([ResultKind.SCORE]) and len(payload) == _SCORE.size:
        _, score, threshold = _SCORE.unpack(payload)
        return InferenceResult.score_result(seq, score, threshold)
    raise _bad(f"inference result payload {payload[:1].hex() or 'empty'} of {len(payload)} bytes")


def _parse_heartbeat(seq: int, payload: bytes) -> Heartbeat:
    if len(payload) != _U32.size:
        raise _bad(f"heartbeat payload of {len(payload)} bytes, expected 4")
    return Heartbeat(seq, _U32.unpack(payload)[0])


def _text(data: bytes, what: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _bad(f"{what} is not well-formed UTF-8") from exc


def _parse_log(seq: int, payload: bytes) -> LogLine:
    if not payload or payload[0] > max(LogLevel):
        raise _bad(f"log payload without a valid level: {payload[:1].hex() or 'empty'}")
    return LogLine(seq, LogLevel(payload[0]), _text(payload[1:], "log text"))


def _parse_config(seq: int, payload: bytes) -> Config:
    if not payload:
        raise _bad("config payload without an entry count")
    entries: dict[str, str] = {}
    pos = 1
    for _ in range(payload[0]):
        parts = []
        for _part in ("key", "value"):
            if pos >= len(payload) or pos + 1 + payload[pos] > len(payload):
                raise _bad("config entry runs past the payload")
            parts.append(_text(payload[pos + 1:pos + 1 + payload[pos]], f"config {_part}"))
            pos += 1 + payload[pos]
        if not parts[0]:
            raise _bad("config key is empty")
        entries.pop(parts[0], None)  # a repeated key moves to the end: applied in order, last wins
        entries[parts[0]] = parts[1]
    if pos != len(payload):
        raise _bad(f"{len(payload) - pos} bytes after the last config entry")
    return Config(seq, entries)


_PARSERS = {MessageType.SAMPLES: _parse_samples, MessageType.INFERENCE_RESULT: _parse_result,
            MessageType.HEARTBEAT: _parse_heartbeat, MessageType.LOG: _parse_log,
            MessageType.CONFIG: _parse_config}
