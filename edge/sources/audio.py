"""The audio path every audio source shares: device or file blocks -> model-rate chunks.

A microphone and a WAV replay differ only in where their blocks come from;
from here on they run the same code: channel check or downmix, streaming
resampling to the rate the bundle asks for, and sample times. A gap (blocks
the device queue had to drop) restarts the resampler and is passed on.
"""

from __future__ import annotations

import math

import numpy as np

from edge.errors import ConfigError
from edge.features.resample import StreamingResampler
from edge.sources.base import Chunk, StreamRequest

__all__ = ["AudioChunker", "target_rate"]


def target_rate(request: StreamRequest, native_rate: float, what: str) -> float:
    """The rate to deliver: the bundle's, or the native one when the bundle does not say."""
    if request.media == "video":
        raise ConfigError(f"{what} gives audio, but this bundle expects camera frames; use --source camera:...")
    return float(request.sample_rate) if request.sample_rate else float(native_rate)


class AudioChunker:
    """Turns ``(n, native_channels)`` float32 blocks into ``Chunk``s at ``out_rate`` with ``out_channels``.

    Args:
        native_rate: rate of the incoming blocks.
        out_rate: rate the bundle expects.
        native_channels: channels of the incoming blocks.
        out_channels: channels the bundle expects: equal to ``native_channels``, or 1 (mean downmix).
        what: the source, for messages.
    """

    def __init__(self, native_rate: float, out_rate: float, native_channels: int, out_channels: int,
                 what: str) -> None:
        if out_channels not in (native_channels, 1):
            raise ConfigError(f"{what} has {native_channels} channel(s) but the bundle expects {out_channels}; "
                              "record with as many channels as the bundle's columns, or one")
        self.native_rate, self.out_rate = float(native_rate), float(out_rate)
        self.native_channels, self.out_channels = native_channels, out_channels
        self.resampler = StreamingResampler(native_rate, out_rate, out_channels)
        self.samples_in = self.samples_out = 0
        self._pending_gap = 0

    def push(self, block: np.ndarray, end_time: float = math.nan, lost_before: int = 0) -> Chunk | None:
        """Add one block; ``end_time`` is the wall time of its last sample (NaN for files).

        ``lost_before`` counts native samples dropped just before this block: the
        resampler restarts and the next chunk carries the gap (in output samples).
        """
        data = np.asarray(block, dtype=np.float32)
        if data.ndim == 1:
            data = data[:, None]
        if lost_before:
            self.resampler.reset()
            self._pending_gap += max(1, round(lost_before * self.out_rate / self.native_rate))
        if self.out_channels == 1 and self.native_channels > 1:
            data = data.mean(axis=1, keepdims=True, dtype=np.float32)
        self.samples_in += len(data)
        out = self.resampler.push(data)
        if len(out) == 0:
            return None
        self.samples_out += len(out)
        gap, self._pending_gap = self._pending_gap, 0
        return Chunk(out, self._times(len(out), end_time), gap=gap)

    def _times(self, count: int, end_time: float) -> np.ndarray:
        if math.isnan(end_time):
            return np.full(count, np.nan)
        last = end_time - self.resampler.delay_s
        return last - (count - 1 - np.arange(count)) / self.out_rate
