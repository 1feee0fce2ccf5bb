"""Shared test vectors for the Python and C implementations of the protocol.

Regenerate the checked-in ``vectors.json`` after a deliberate protocol change::

    python -m firmware_bridge.vectors            # rewrite firmware_bridge/vectors.json
    python -m firmware_bridge.vectors --check    # exit 1 if the file is stale

``valid`` vectors give a message and its exact wire bytes (both sides must encode
the message to those bytes and decode the bytes to the message); ``invalid``
vectors give wire bytes and the ``FrameErrorKind`` value a decoder must report.
"""

from __future__ import annotations

import json
import struct
import sys
from pathlib import Path
from typing import Any

import numpy as np

from firmware_bridge.cobs import cobs_encode
from firmware_bridge.codec import encode
from firmware_bridge.crc import crc16
from firmware_bridge.messages import (
    Config,
    Heartbeat,
    InferenceResult,
    LogLevel,
    LogLine,
    Message,
    ResultKind,
    Samples,
    SampleType,
)

__all__ = ["VECTORS_PATH", "build_vectors", "load_vectors", "message_from_json", "message_to_json"]

VECTORS_PATH = Path(__file__).with_name("vectors.json")


def message_to_json(message: Message) -> dict[str, Any]:
    """A JSON-ready description of ``message`` (floats are exact float32 values)."""
    name = type(message).__name__
    if isinstance(message, Samples):
        return {"type": name, "seq": message.seq, "channels": message.channels,
                "sample_type": message.sample_type.name, "values": message.values.tolist()}
    if isinstance(message, InferenceResult):
        fields = ("label", "confidence") if message.kind is ResultKind.LABEL else ("score", "threshold")
        return {"type": name, "seq": message.seq, "kind": message.kind.name,
                **{f: getattr(message, f) for f in fields}}
    if isinstance(message, Heartbeat):
        return {"type": name, "seq": message.seq, "uptime_ms": message.uptime_ms}
    if isinstance(message, LogLine):
        return {"type": name, "seq": message.seq, "level": message.level.name, "text": message.text}
    return {"type": name, "seq": message.seq, "entries": [[k, v] for k, v in message.entries.items()]}


def message_from_json(data: dict[str, Any]) -> Message:
    """The inverse of ``message_to_json``."""
    kind, seq = data["type"], data["seq"]
    if kind == "Samples":
        stype = SampleType[data["sample_type"]]
        values = np.array(data["values"], dtype=stype.dtype).reshape(-1, data["channels"])
        return Samples(seq, data["channels"], stype, values)
    if kind == "InferenceResult":
        if data["kind"] == "LABEL":
            return InferenceResult.label_result(seq, data["label"], data["confidence"])
        return InferenceResult.score_result(seq, data["score"], data["threshold"])
    if kind == "Heartbeat":
        return Heartbeat(seq, data["uptime_ms"])
    if kind == "LogLine":
        return LogLine(seq, LogLevel[data["level"]], data["text"])
    if kind == "Config":
        return Config(seq, dict(data["entries"]))
    raise ValueError(f"unknown message type {kind!r}")


def _valid_messages() -> list[tuple[str, Message]]:
    long_run = (np.arange(510) % 200 + 257).reshape(510, 1)  # 1020 value bytes, none zero
    return [
        ("heartbeat_zero", Heartbeat(0, 0)),
        ("heartbeat_max", Heartbeat(0xFFFF, 0xFFFFFFFF)),
        ("heartbeat_seq_256", Heartbeat(256, 1_000)),
        ("samples_int16_3ch", Samples(1, 3, SampleType.INT16,
                                      [[0, 1, -1], [32767, -32768, 256], [1000, -1000, 0], [7, 8, 9]])),
        ("samples_float32_2ch", Samples(2, 2, SampleType.FLOAT32,
                                        [[0.0, -1.5], [3.25, 1e-3], [-0.0, 65504.0]])),
        ("samples_empty", Samples(3, 1, SampleType.INT16, np.zeros((0, 1), dtype=np.int16))),
        ("samples_all_zero", Samples(4, 1, SampleType.INT16, np.zeros((300, 1), dtype=np.int16))),
        ("samples_max_payload_no_zeros", Samples(0x0102, 1, SampleType.INT16, long_run)),
        ("samples_float32_max", Samples(5, 5, SampleType.FLOAT32, np.linspace(1, 2, 255).reshape(51, 5))),
        ("result_label", InferenceResult.label_result(6, 3, 0.875)),
        ("result_score", InferenceResult.score_result(7, 0.4375, 0.25)),
        ("log_info", LogLine(8, LogLevel.INFO, "pump started")),
        ("log_unicode", LogLine(9, LogLevel.ERROR, "température élevée ⚠")),
        ("log_empty", LogLine(10, LogLevel.DEBUG, "")),
        ("config_two", Config(11, {"rate_hz": "100", "threshold": "0.25"})),
        ("config_empty_value", Config(12, {"label": ""})),
        ("config_none", Config(13, {})),
    ]


def _raw(version: int, type_byte: int, seq: int, payload: bytes, crc_xor: int = 0) -> str:
    body = struct.pack("<BBH", version, type_byte, seq) + payload
    return (cobs_encode(body + struct.pack("<H", crc16(body) ^ crc_xor)) + b"\x00").hex()


def _invalid_frames() -> list[tuple[str, str, str]]:
    return [
        ("bad_crc", _raw(1, 3, 1, struct.pack("<I", 42), crc_xor=0x0001), "crc"),
        ("version_2", _raw(2, 3, 1, struct.pack("<I", 42)), "version"),
        ("unknown_type", _raw(1, 0x7F, 1, b""), "type"),
        ("too_short", (cobs_encode(b"\x01\x03\x01\x00\x00") + b"\x00").hex(), "length"),
        ("truncated_cobs", "05010300", "cobs"),
        ("heartbeat_short", _raw(1, 3, 1, b"\x2a\x00\x00"), "format"),
        ("samples_count_mismatch", _raw(1, 1, 1, bytes([1, 0, 2, 0, 1, 0])), "format"),
        ("samples_bad_type", _raw(1, 1, 1, bytes([1, 2, 0, 0])), "format"),
        ("samples_zero_channels", _raw(1, 1, 1, bytes([0, 0, 0, 0])), "format"),
        ("result_bad_kind", _raw(1, 2, 1, bytes([2]) + bytes(8)), "format"),
        ("log_bad_level", _raw(1, 4, 1, b"\x05hi"), "format"),
        ("log_bad_utf8", _raw(1, 4, 1, b"\x01\xc3\x28"), "format"),
        ("log_surrogate_utf8", _raw(1, 4, 1, b"\x01\xed\xa0\x80"), "format"),
        ("config_overrun", _raw(1, 5, 1, b"\x01\x03ab"), "format"),
        ("config_trailing", _raw(1, 5, 1, b"\x00\x00"), "format"),
        ("config_empty_key", _raw(1, 5, 1, b"\x01\x00\x00"), "format"),
        ("encoded_too_big", _raw(1, 4, 1, b"\x01" + b"a" * 1024), "oversize"),
        ("decoded_too_big", _raw(1, 4, 1, bytes(1025)), "oversize"),
    ]


def build_vectors() -> dict[str, Any]:
    """All vectors as the JSON document written to ``vectors.json``."""
    return {
        "protocol": "edgewatch serial frame v1, see docs/protocol.md",
        "generator": "python -m firmware_bridge.vectors",
        "valid": [{"name": name, "message": message_to_json(msg), "frame": encode(msg).hex()}
                  for name, msg in _valid_messages()],
        "invalid": [{"name": name, "frame": frame, "error": kind} for name, frame, kind in _invalid_frames()],
    }


def render_vectors() -> str:
    """``build_vectors()`` as the exact text of ``vectors.json``."""
    return json.dumps(build_vectors(), indent=1, ensure_ascii=False) + "\n"


def load_vectors(path: Path = VECTORS_PATH) -> dict[str, Any]:
    """Read the checked-in vectors."""
    return json.loads(path.read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check`` verify) ``vectors.json``; returns the exit status."""
    args = sys.argv[1:] if argv is None else argv
    text = render_vectors()
    if "--check" in args:
        current = VECTORS_PATH.read_text(encoding="utf-8") if VECTORS_PATH.exists() else ""
        return 0 if current == text else 1
    VECTORS_PATH.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
