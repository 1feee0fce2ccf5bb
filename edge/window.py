"""Sliding windows over a stream of sample chunks, independent of chunk size."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edge.errors import ConfigError, DataError

__all__ = ["SlidingWindow", "Window"]


@dataclass(frozen=True)
class Window:
    """One window of ``size`` consecutive samples.

    Attributes:
        start: stream index of the first sample.
        values: float32 array of shape ``(size, channels)`` (a copy, safe to keep).
        times: float64 seconds of each sample (data timestamps or arrival times).
    """

    start: int
    values: np.ndarray
    times: np.ndarray

    @property
    def end(self) -> int:
        """Stream index one past the last sample."""
        return self.start + len(self.values)


class SlidingWindow:
    """Cuts a stream into windows of ``size`` samples every ``hop`` samples.

    Chunks of any length go in through :meth:`push`; the remainder is kept, so
    the windows produced depend only on the samples, never on how they were
    chunked. The first window starts at stream index 0.
    """

    def __init__(self, size: int, hop: int, channels: int) -> None:
        if size < 1 or hop < 1 or channels < 1:
            raise ConfigError(f"window size, hop and channels must be >= 1 (got {size}, {hop}, {channels})")
        self.size, self.hop, self.channels = size, hop, channels
        self._buf = np.empty((0, channels), dtype=np.float32)
        self._times = np.empty(0, dtype=np.float64)
        self._buf_start = 0  # stream index of _buf[0]
        self._next_start = 0  # stream index where the next window begins

    @property
    def samples_seen(self) -> int:
        """How many samples have been pushed so far."""
        return self._buf_start + len(self._buf)

    def push(self, samples: np.ndarray, times: np.ndarray | None = None) -> list[Window]:
        """Add a chunk of shape ``(n, channels)`` now; return every window it completes."""
        chunk = np.asarray(samples, dtype=np.float32)
        if chunk.ndim == 1 and self.channels == 1:
            chunk = chunk[:, None]
        if chunk.ndim != 2 or chunk.shape[1] != self.channels:
            raise DataError(f"chunk has shape {chunk.shape}, expected (n, {self.channels})")
        if times is None:
            times = np.full(len(chunk), np.nan)
        self._buf = np.concatenate([self._buf, chunk])
        self._times = np.concatenate([self._times, np.asarray(times, dtype=np.float64)])
        windows = []
        while self._next_start + self.size <= self.samples_seen:
            offset = self._next_start - self._buf_start
            windows.append(Window(
                start=self._next_start,
                values=self._buf[offset : offset + self.size].copy(),
                times=self._times[offset : offset + self.size].copy(),
            ))
            self._next_start += self.hop
        self._drop_consumed()
        return windows

    def restart(self) -> None:
        """After a gap in the stream: drop the partial window; the next one starts with the next sample.

        Stream indices keep counting from where they were, so windows stay ordered.
        """
        self._buf_start = self._next_start = self.samples_seen
        self._buf = self._buf[:0]
        self._times = self._times[:0]

    def _drop_consumed(self) -> None:
        """Forget samples no future window can contain."""
        drop = min(self._next_start - self._buf_start, len(self._buf))
        if drop > 0:
            self._buf = self._buf[drop:]
            self._times = self._times[drop:]
            self._buf_start += drop
