"""Streaming sample-rate conversion: a rational polyphase FIR resampler in numpy.

Used by every audio source (microphone and WAV replay alike) to bring what the
hardware or the file gives to the model's rate. It keeps its input history
between calls, so the output depends only on the samples, never on how they
were chunked (each output sample is the same sum over the same inputs, computed
row by row without BLAS, whose blocking would change the rounding with the
batch size).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from edge.errors import ConfigError

__all__ = ["StreamingResampler", "resample_ratio"]

ZERO_CROSSINGS = 24  # filter half-width, in periods of the lower of the two rates
ROLLOFF = 0.95  # cut-off (-6 dB) as a fraction of the lower Nyquist frequency
KAISER_BETA = 8.0  # about 80 dB stop-band attenuation


def resample_ratio(in_rate: float, out_rate: float) -> tuple[int, int]:
    """``(up, down)`` with ``out_rate / in_rate == up / down`` in lowest terms (rates rounded to 1e-3 Hz)."""
    if not (in_rate > 0 and out_rate > 0) or math.isinf(in_rate) or math.isinf(out_rate):
        raise ConfigError(f"sample rates must be positive and finite (got {in_rate} -> {out_rate})")
    ratio = Fraction(round(out_rate * 1000)) / Fraction(round(in_rate * 1000))
    if ratio.numerator > 4096 or ratio.denominator > 4096:
        ratio = ratio.limit_denominator(4096)
    return ratio.numerator, ratio.denominator


class StreamingResampler:
    """Converts a stream of ``(n, channels)`` float blocks from ``in_rate`` to ``out_rate``.

    Kaiser-windowed sinc low-pass (cut-off at 0.95 of the lower Nyquist
    frequency), applied in polyphase form so only the needed output samples
    are computed. The output lags the input by :attr:`delay_s` seconds; the
    history before the first sample is taken as silence. Equal rates pass
    through untouched.
    """

    def __init__(self, in_rate: float, out_rate: float, channels: int = 1) -> None:
        if channels < 1:
            raise ConfigError(f"a resampler needs at least one channel, got {channels}")
        self.in_rate, self.out_rate, self.channels = float(in_rate), float(out_rate), channels
        self.up, self.down = resample_ratio(in_rate, out_rate)
        self.passthrough = self.up == self.down
        self._bank = _polyphase_bank(self.up, self.down) if not self.passthrough else np.ones((1, 1))
        self.taps = self._bank.shape[1]
        self.reset()

    @property
    def delay_s(self) -> float:
        """Group delay of the filter in seconds (0 when passing through)."""
        if self.passthrough:
            return 0.0
        return ZERO_CROSSINGS * max(self.up, self.down) / (self.in_rate * self.up)

    def reset(self) -> None:
        """Forget the history (after a gap or a reconnect): the next block starts a new stream."""
        self._history = np.zeros((self.taps - 1, self.channels), dtype=np.float64)
        self._consumed = 0  # input samples before _history[taps - 1]
        self._next_out = 0  # index of the next output sample

    def push(self, block: np.ndarray) -> np.ndarray:
        """Add ``(n, channels)`` input samples; return the float32 output samples they complete."""
        data = np.asarray(block, dtype=np.float64)
        if data.ndim == 1:
            data = data[:, None]
        if data.ndim != 2 or data.shape[1] != self.channels:
            raise ConfigError(f"resampler got a block of shape {data.shape}, expected (n, {self.channels})")
        if self.passthrough:
            return data.astype(np.float32)
        buffer = np.concatenate([self._history, data])
        total = self._consumed + len(data)  # input samples seen so far
        # output m needs input index floor(m * down / up) to exist
        last = (total * self.up - 1) // self.down  # largest m with m*down < total*up
        outputs = np.arange(self._next_out, last + 1, dtype=np.int64)
        result = self._filter(buffer, outputs)
        self._next_out = last + 1
        keep = self.taps - 1
        self._history = buffer[len(buffer) - keep:] if keep else buffer[:0]
        self._consumed = total
        return result

    def _filter(self, buffer: np.ndarray, outputs: np.ndarray) -> np.ndarray:
        if len(outputs) == 0:
            return np.empty((0, self.channels), dtype=np.float32)
        position = outputs * self.down
        base, phase = position // self.up, position % self.up
        # buffer[j] holds input sample (consumed - taps + 1 + j)
        newest = base - (self._consumed - (self.taps - 1))
        index = newest[:, None] - np.arange(self.taps)[None, :]
        weights = self._bank[phase]
        out = np.empty((len(outputs), self.channels), dtype=np.float32)
        for channel in range(self.channels):
            out[:, channel] = (buffer[index, channel] * weights).sum(axis=1)
        return out


def _polyphase_bank(up: int, down: int) -> np.ndarray:
    """Filter bank ``(up, taps)``: row ``p`` holds the prototype's taps ``p, p+up, p+2up, ...``."""
    factor = max(up, down)
    half = ZERO_CROSSINGS * factor
    length = 2 * half + 1
    taps = math.ceil(length / up)
    n = np.arange(length) - half
    cutoff = ROLLOFF / factor  # in cycles per upsampled sample, times 2 (sinc's convention)
    prototype = np.zeros(taps * up)
    prototype[:length] = cutoff * np.sinc(cutoff * n) * np.kaiser(length, KAISER_BETA)
    prototype *= up  # unity gain after inserting up-1 zeros between input samples
    return prototype.reshape(taps, up).T.copy()
