"""Errors of the firmware bridge protocol.

    EdgewatchError
    └── DataError
        └── FrameError     one received frame is unusable; ``kind`` says why

Building a message with out-of-range fields raises plain ``edge.errors.DataError``.
"""

from __future__ import annotations

import enum

from edge.errors import DataError

__all__ = ["FrameError", "FrameErrorKind"]


class FrameErrorKind(enum.Enum):
    """Why a frame was rejected; each kind has its own counter in ``FrameDecoder``."""

    COBS = "cobs"          # the COBS block structure is broken (truncated block, stray zero)
    LENGTH = "length"      # decoded frame shorter than header + CRC
    OVERSIZE = "oversize"  # frame longer than the protocol maximum
    CRC = "crc"            # CRC-16 trailer does not match
    VERSION = "version"    # intact frame of another protocol version
    TYPE = "type"          # intact frame of an unknown message type
    FORMAT = "format"      # payload layout does not match its message type


class FrameError(DataError):
    """A received frame cannot be decoded.

    Attributes:
        kind: The reason, one of ``FrameErrorKind``.
    """

    def __init__(self, kind: FrameErrorKind, detail: str) -> None:
        super().__init__(f"bad frame ({kind.value}): {detail}")
        self.kind = kind
