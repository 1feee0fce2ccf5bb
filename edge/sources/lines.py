"""Newline-delimited numeric lines: the one parser of serial ``format=lines`` and ``stdin``.

Bytes are fed in whatever pieces the port or pipe gives (reading in blocks and
splitting costs a sixth of the CPU of ``readline`` at 1 kHz); each complete
line becomes a row, or a counted ``BadRow`` naming why it was skipped.
"""

from __future__ import annotations

import numpy as np

from edge.csvdata import BadRow

__all__ = ["LineParser", "MAX_LINE"]

MAX_LINE = 4096  # bytes without a newline before the pending line is dropped as bad


class LineParser:
    """Newline-terminated numeric lines -> rows; malformed lines become ``BadRow``.

    Fed with whatever bytes arrived (any split), it keeps the unfinished line.
    Values are separated by commas, or else by spaces and tabs.
    """

    def __init__(self, channels: int) -> None:
        self.channels = channels
        self._pending = bytearray()
        self._discarding = False  # inside an over-long line: drop up to the next newline
        self._carry: list[BadRow] = []  # bad rows noticed outside feed(), reported with the next chunk
        self.lines = self.rows = self.bad = 0

    def feed(self, data: bytes) -> tuple[np.ndarray, list[BadRow]]:
        rows: list[list[float]] = []
        bad, self._carry = self._carry, []
        self._pending += data
        if b"\n" in data:
            first, *complete, rest = self._pending.split(b"\n")
            if not self._discarding:
                self._parse(bytes(first), rows, bad)
            self._discarding = False
            for line in complete:
                self._parse(bytes(line), rows, bad)
            self._pending = bytearray(rest)
        if len(self._pending) > MAX_LINE:
            self._pending.clear()
            if not self._discarding:
                self._discarding = True
                self._bad(bad, f"no newline within {MAX_LINE} bytes")
        values = np.array(rows, dtype=np.float32).reshape(len(rows), self.channels)
        return values, bad

    def _parse(self, line: bytes, rows: list[list[float]], bad: list[BadRow]) -> None:
        line = line.strip()
        if not line:
            return  # blank line (or the \n of \r\n)
        parts = line.split(b",") if b"," in line else line.split()
        try:
            row = [float(p) for p in parts]
        except ValueError:
            self._bad(bad, f"not a number in {line[:60]!r}")
            return
        if len(row) != self.channels:
            self._bad(bad, f"{len(row)} value(s), expected {self.channels}")
            return
        self.lines += 1
        self.rows += 1
        rows.append(row)

    def _bad(self, bad: list[BadRow], reason: str) -> None:
        self.lines += 1
        self.bad += 1
        bad.append(BadRow(self.lines, reason))

    def reset(self) -> None:
        """After a reconnect: the line cut by the disconnect is a bad row."""
        if self._pending and not self._discarding:
            self._bad(self._carry, "line cut by a disconnect")
        self._pending.clear()
        self._discarding = False

    def stats(self) -> dict[str, int]:
        return {"lines": self.lines, "samples": self.rows, "bad_lines": self.bad}
