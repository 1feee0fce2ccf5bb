"""Streaming frame decoder: bytes from a serial link in, messages out.

``FrameDecoder`` splits the byte stream at 0x00 delimiters, decodes each frame,
drops bad ones and counts why. It never raises on input and holds at most
``MAX_ENCODED`` pending bytes, so garbage, truncated frames and line noise
cost one counted frame each and the next delimiter resynchronises it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from firmware_bridge.codec import decode_frame
from firmware_bridge.errors import FrameError, FrameErrorKind
from firmware_bridge.messages import MAX_ENCODED, Message

__all__ = ["DecoderCounters", "FrameDecoder"]

SEQ_MODULO = 1 << 16
_MAX_FORWARD_GAP = SEQ_MODULO // 2  # larger jumps (or backwards) are resets, not losses


@dataclass
class DecoderCounters:
    """What a ``FrameDecoder`` has seen so far.

    Every non-empty delimited frame lands in exactly one of ``frames_ok`` and the
    error counters, so ``frames_ok + frames_bad`` is the number of frames seen.

    Attributes:
        frames_ok: Frames decoded into a message.
        cobs_errors: Broken COBS block structure (truncated frame, garbage).
        length_errors: Decoded frame shorter than header + CRC.
        oversize: Frames longer than the protocol maximum (dropped without buffering).
        crc_errors: CRC mismatch.
        version_errors: Intact frame of another protocol version.
        type_errors: Intact frame of an unknown message type.
        format_errors: Payload layout does not match its message type.
        messages_lost: Sum of the gaps between consecutive good sequence numbers.
        seq_resets: Good frames whose sequence number repeated or jumped back (or
            forward by more than 32768): the sender restarted; nothing is counted lost.
    """

    frames_ok: int = 0
    cobs_errors: int = 0
    length_errors: int = 0
    oversize: int = 0
    crc_errors: int = 0
    version_errors: int = 0
    type_errors: int = 0
    format_errors: int = 0
    messages_lost: int = 0
    seq_resets: int = 0

    @property
    def frames_bad(self) -> int:
        """Frames dropped for any reason."""
        return (self.cobs_errors + self.length_errors + self.oversize + self.crc_errors
                + self.version_errors + self.type_errors + self.format_errors)

    def as_dict(self) -> dict[str, int]:
        """The counters as a plain dict (for metrics and JSON)."""
        return asdict(self)


_COUNTER = {
    FrameErrorKind.COBS: "cobs_errors",
    FrameErrorKind.LENGTH: "length_errors",
    FrameErrorKind.OVERSIZE: "oversize",
    FrameErrorKind.CRC: "crc_errors",
    FrameErrorKind.VERSION: "version_errors",
    FrameErrorKind.TYPE: "type_errors",
    FrameErrorKind.FORMAT: "format_errors",
}


class FrameDecoder:
    """Incremental decoder for one direction of one link; not thread-safe.

    Feed it bytes in chunks of any size; complete frames come back as messages.
    A byte stream that starts mid-frame costs one counted bad frame.
    """

    def __init__(self) -> None:
        self._pending = bytearray()
        self._discarding = False
        self._last_seq: int | None = None
        self.counters = DecoderCounters()

    @property
    def pending(self) -> int:
        """Bytes held for the frame not yet terminated (always <= ``MAX_ENCODED``)."""
        return len(self._pending)

    def feed(self, data: bytes) -> list[Message]:
        """Consume ``data`` and return the messages completed by it, in order.

        Args:
            data: Any bytes from the link.

        Returns:
            Decoded messages; bad frames are dropped and counted in ``counters``.
        """
        data = bytes(data)
        out: list[Message] = []
        start = 0
        while (end := data.find(0, start)) >= 0:
            self._hold(data, start, end)
            self._finish(out)
            start = end + 1
        self._hold(data, start, len(data))
        return out

    def reset(self) -> None:
        """Forget the pending partial frame and the last sequence number; keep counters."""
        self._pending.clear()
        self._discarding = False
        self._last_seq = None

    def _hold(self, data: bytes, start: int, end: int) -> None:
        """Append ``data[start:end]`` (no zeros) to the pending frame, dropping it when over-long."""
        if self._discarding or start == end:
            return
        if len(self._pending) + (end - start) > MAX_ENCODED:
            self.counters.oversize += 1
            self._pending.clear()
            self._discarding = True
            return
        self._pending += data[start:end]

    def _finish(self, out: list[Message]) -> None:
        """A delimiter arrived: decode the pending frame, if any."""
        if self._discarding:
            self._discarding = False
            return
        if not self._pending:
            return  # empty frame: a flush delimiter, not an error
        frame = bytes(self._pending)
        self._pending.clear()
        try:
            message = decode_frame(frame)
        except FrameError as exc:
            counter = _COUNTER[exc.kind]
            setattr(self.counters, counter, getattr(self.counters, counter) + 1)
            return
        self.counters.frames_ok += 1
        self._track_seq(message.seq)
        out.append(message)

    def _track_seq(self, seq: int) -> None:
        if self._last_seq is not None:
            step = (seq - self._last_seq) % SEQ_MODULO
            if 1 <= step <= _MAX_FORWARD_GAP:
                self.counters.messages_lost += step - 1
            else:
                self.counters.seq_resets += 1
        self._last_seq = seq
