"""Windows for training and calibration, and the representative dataset for quantization."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from edge.errors import DataError

__all__ = ["make_windows", "RepresentativeDataset"]


def make_windows(values: np.ndarray, window: int, hop: int) -> np.ndarray:
    """All windows ``(m, window, channels)`` starting at 0, hop, 2*hop ... (as ``SlidingWindow``)."""
    data = np.asarray(values, dtype=np.float32)
    if len(data) < window:
        raise DataError(f"need at least {window} rows for one window of {window}, got {len(data)}")
    view = np.lib.stride_tricks.sliding_window_view(data, window, axis=0)[::hop]
    return np.ascontiguousarray(view.transpose(0, 2, 1))


class RepresentativeDataset:
    """A fixed, rewindable sample of windows that calibrates INT8 quantization.

    The sample is stratified over time (evenly spaced windows), so it covers
    the whole recording rather than one stretch. Iterating yields batches of
    one window, float32 ``(1, window, channels)``; iterate again to rewind.
    """

    def __init__(self, windows: np.ndarray, count: int = 300) -> None:
        if len(windows) == 0:
            raise DataError("the representative dataset needs at least one window")
        picks = np.unique(np.linspace(0, len(windows) - 1, num=min(count, len(windows))).round().astype(int))
        self.windows = np.asarray(windows[picks], dtype=np.float32)

    def __len__(self) -> int:
        return len(self.windows)

    def __iter__(self) -> Iterator[np.ndarray]:
        for window in self.windows:
            yield window[None]
