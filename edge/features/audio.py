"""Streaming log-mel and MFCC in numpy, the same code at training time and on the device.

Frames of ``n_fft`` samples every ``hop_length`` samples (no centring: a
stream has no future to pad with), a periodic Hann window of ``win_length``
centred in the frame, the power spectrum, a mel filterbank, ``10 log10``
(power in dB, floored at ``amin``, no ``top_db`` clipping, which would need the
whole recording) and, for MFCC, an orthonormal DCT-II over the mel bands.

With ``mel_scale="slaney"`` and ``mel_norm="slaney"`` (the defaults) the
filterbank is librosa's default (``htk=False, norm="slaney"``); ``"htk"`` gives
the HTK/Kaldi mel scale. Results equal ``librosa.feature.melspectrogram(...,
center=False)`` + ``power_to_db(ref=1.0, top_db=None)`` (+ ``mfcc(dct_type=2,
norm="ortho")``) to within float rounding; ``tests/test_features.py`` states
the tolerance.

The extractors keep the samples not yet framed and never recompute a frame.
Every frame is computed alone (row-wise sums, no matrix products, whose BLAS
blocking would make the rounding depend on how many frames arrive together), so
the output is bit-identical however the stream is chunked.
"""

from __future__ import annotations

import numpy as np

from edge.errors import ConfigError

__all__ = ["mel_filterbank", "dct_ortho", "hann_window", "StreamingLogMel", "StreamingMfcc"]


def hz_to_mel(freq: np.ndarray | float, scale: str) -> np.ndarray:
    """Hz -> mel on the Slaney (linear below 1 kHz, log above) or the HTK scale."""
    f = np.asarray(freq, dtype=np.float64)
    if scale == "htk":
        return 2595.0 * np.log10(1.0 + f / 700.0)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    linear = f / f_sp
    return np.where(f >= min_log_hz, min_log_mel + np.log(np.maximum(f, min_log_hz) / min_log_hz) / logstep, linear)


def mel_to_hz(mels: np.ndarray, scale: str) -> np.ndarray:
    """Inverse of :func:`hz_to_mel`."""
    m = np.asarray(mels, dtype=np.float64)
    if scale == "htk":
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)


def mel_filterbank(sample_rate: float, n_fft: int, n_mels: int, fmin: float = 0.0, fmax: float | None = None,
                   scale: str = "slaney", norm: str | None = "slaney") -> np.ndarray:
    """Triangular mel filters, shape ``(n_mels, n_fft // 2 + 1)``, as librosa builds them."""
    fmax = sample_rate / 2.0 if fmax is None else fmax
    bins = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin, scale), hz_to_mel(fmax, scale), n_mels + 2), scale)
    widths = np.diff(edges)
    ramps = edges[:, None] - bins[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    if norm == "slaney":
        weights *= (2.0 / (edges[2 : n_mels + 2] - edges[:n_mels]))[:, None]
    return weights


def dct_ortho(n_out: int, n_in: int) -> np.ndarray:
    """Orthonormal DCT-II matrix ``(n_out, n_in)`` (scipy's ``dct(type=2, norm="ortho")`` rows)."""
    k = np.arange(n_out)[:, None]
    n = np.arange(n_in)[None, :]
    basis = np.cos(np.pi * k * (2 * n + 1) / (2.0 * n_in)) * np.sqrt(2.0 / n_in)
    basis[0] /= np.sqrt(2.0)
    return basis


def hann_window(win_length: int, n_fft: int) -> np.ndarray:
    """Periodic Hann of ``win_length`` samples, zero-padded to ``n_fft`` with the window centred."""
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(win_length) / win_length)
    left = (n_fft - win_length) // 2
    padded = np.zeros(n_fft)
    padded[left : left + win_length] = window
    return padded


class StreamingLogMel:
    """Samples (n, 1) in, log-mel frames (m, n_mels) out; keeps the unframed remainder.

    Args mirror :class:`edge.features.spec.LogMelSpec`; frame ``i`` covers
    samples ``[i * hop_length, i * hop_length + n_fft)`` of the stream and is
    stamped with the time of its last sample.
    """

    def __init__(self, sample_rate: float, n_fft: int, win_length: int, hop_length: int, n_mels: int,
                 fmin: float, fmax: float | None, mel_scale: str, mel_norm: str | None, amin: float) -> None:
        if win_length > n_fft:
            raise ConfigError(f"win_length {win_length} exceeds n_fft {n_fft}")
        self.n_fft, self.hop = n_fft, hop_length
        self.amin = amin
        self._window = hann_window(win_length, n_fft)
        self._filters = mel_filterbank(sample_rate, n_fft, n_mels, fmin, fmax, mel_scale, mel_norm)
        self.dims = n_mels
        self.reset()

    def reset(self) -> None:
        """Start a new stream (after a gap): the remainder is dropped."""
        self._pending = np.empty(0, dtype=np.float64)
        self._pending_times = np.empty(0, dtype=np.float64)

    def push(self, values: np.ndarray, times: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Add samples ``(n, 1)`` (or ``(n,)``); return the completed frames and their times."""
        samples = np.asarray(values, dtype=np.float64)
        if samples.ndim == 2:
            if samples.shape[1] != 1:
                raise ConfigError(f"audio features take one channel, got {samples.shape[1]}; downmix the source")
            samples = samples[:, 0]
        stamps = np.full(len(samples), np.nan) if times is None else np.asarray(times, dtype=np.float64)
        self._pending = np.concatenate([self._pending, samples])
        self._pending_times = np.concatenate([self._pending_times, stamps])
        count = 0 if len(self._pending) < self.n_fft else 1 + (len(self._pending) - self.n_fft) // self.hop
        if count == 0:
            return np.empty((0, self.dims), dtype=np.float32), np.empty(0)
        starts = np.arange(count) * self.hop
        frames = np.lib.stride_tricks.sliding_window_view(self._pending, self.n_fft)[starts]
        frame_times = self._pending_times[starts + self.n_fft - 1]
        features = self._frames_to_features(frames)
        consumed = count * self.hop
        self._pending = self._pending[consumed:]
        self._pending_times = self._pending_times[consumed:]
        return features.astype(np.float32), frame_times

    def _frames_to_features(self, frames: np.ndarray) -> np.ndarray:
        return self._log_mel(frames)

    def _log_mel(self, frames: np.ndarray) -> np.ndarray:
        spectrum = np.fft.rfft(frames * self._window, axis=-1)
        power = spectrum.real ** 2 + spectrum.imag ** 2
        mel = (power[:, None, :] * self._filters[None, :, :]).sum(axis=-1)
        return 10.0 * np.log10(np.maximum(mel, self.amin))


class StreamingMfcc(StreamingLogMel):
    """Log-mel frames -> the first ``n_mfcc`` orthonormal DCT-II coefficients."""

    def __init__(self, n_mfcc: int, **logmel: object) -> None:
        super().__init__(**logmel)  # type: ignore[arg-type]
        if not 1 <= n_mfcc <= self.dims:
            raise ConfigError(f"n_mfcc must be between 1 and n_mels ({self.dims}), got {n_mfcc}")
        self._dct = dct_ortho(n_mfcc, self.dims)
        self.dims = n_mfcc

    def _frames_to_features(self, frames: np.ndarray) -> np.ndarray:
        log_mel = self._log_mel(frames)
        return (log_mel[:, None, :] * self._dct[None, :, :]).sum(axis=-1)
