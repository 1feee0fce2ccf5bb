"""Firmware bridge: the framed serial protocol between edgewatch and microcontrollers.

Pure codec, no I/O. ``encode(message)`` gives one wire frame; ``decode_frame``
reads one back; ``FrameDecoder`` turns a raw byte stream into messages and counts
what it had to drop. The byte layout is specified in ``docs/protocol.md``; the C99
twin for firmware is ``firmware_bridge/c/edgewatch_frame.{c,h}``.

    EdgewatchError
    └── DataError
        └── FrameError     a received frame is unusable (``kind``: FrameErrorKind)
"""

from __future__ import annotations

from firmware_bridge.cobs import cobs_decode, cobs_encode
from firmware_bridge.codec import decode_frame, encode, encode_payload, message_type
from firmware_bridge.crc import CRC_CHECK_VALUE, crc16
from firmware_bridge.decoder import DecoderCounters, FrameDecoder
from firmware_bridge.errors import FrameError, FrameErrorKind
from firmware_bridge.messages import (
    CRC_SIZE,
    HEADER_SIZE,
    MAX_ENCODED,
    MAX_FRAME,
    MAX_PAYLOAD,
    PROTOCOL_VERSION,
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

__all__ = [
    "CRC_CHECK_VALUE",
    "CRC_SIZE",
    "HEADER_SIZE",
    "MAX_ENCODED",
    "MAX_FRAME",
    "MAX_PAYLOAD",
    "PROTOCOL_VERSION",
    "Config",
    "DecoderCounters",
    "FrameDecoder",
    "FrameError",
    "FrameErrorKind",
    "Heartbeat",
    "InferenceResult",
    "LogLevel",
    "LogLine",
    "Message",
    "MessageType",
    "ResultKind",
    "SampleType",
    "Samples",
    "cobs_decode",
    "cobs_encode",
    "crc16",
    "decode_frame",
    "encode",
    "encode_payload",
    "message_type",
]
