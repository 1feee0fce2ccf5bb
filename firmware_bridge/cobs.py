"""Consistent Overhead Byte Stuffing (Cheshire & Baker, 1999), canonical form.

The encoded form contains no zero byte, so a single 0x00 delimits frames.
Canonical: a final 254-byte block (code 0xFF) that ends the data is not followed
by an empty 0x01 block, as in the reference encoder on Wikipedia. The decoder
accepts both forms.
"""

from __future__ import annotations

from firmware_bridge.errors import FrameError, FrameErrorKind

__all__ = ["cobs_decode", "cobs_encode", "cobs_max_encoded_len"]

_BLOCK = 254


def cobs_max_encoded_len(n: int) -> int:
    """Largest COBS encoding of ``n`` bytes, without the delimiter: ``n + max(1, ceil(n / 254))``."""
    return n + max(1, -(-n // _BLOCK))


def cobs_encode(data: bytes) -> bytes:
    """Encode ``data``; the result has no zero byte and no delimiter.

    Args:
        data: Any bytes, zeros included.

    Returns:
        The COBS encoding.
    """
    out = bytearray()
    pieces = bytes(data).split(b"\x00")
    last = len(pieces) - 1
    for index, piece in enumerate(pieces):
        start = 0
        while len(piece) - start >= _BLOCK:
            out.append(0xFF)
            out += piece[start:start + _BLOCK]
            start += _BLOCK
        rest = piece[start:]
        if index == last and not rest and piece:
            break  # canonical: data ended exactly on a full block
        out.append(len(rest) + 1)
        out += rest
    return bytes(out)


def cobs_decode(data: bytes) -> bytes:
    """Decode one COBS block sequence (without its delimiter).

    Args:
        data: The encoded bytes.

    Returns:
        The original bytes.

    Raises:
        FrameError: kind COBS if ``data`` is empty, holds a zero, or a block runs past the end.
    """
    if not data:
        raise FrameError(FrameErrorKind.COBS, "empty block sequence")
    if 0 in data:
        raise FrameError(FrameErrorKind.COBS, "zero byte inside a COBS frame")
    out = bytearray()
    pos, end = 0, len(data)
    while pos < end:
        code = data[pos]
        stop = pos + code
        if stop > end:
            raise FrameError(FrameErrorKind.COBS, f"block of {code - 1} bytes runs past the end")
        out += data[pos + 1:stop]
        pos = stop
        if code != 0xFF and pos < end:
            out.append(0)
    return bytes(out)
