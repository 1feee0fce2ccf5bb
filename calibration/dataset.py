"""Windows for training and calibration, and the representative dataset for quantization.

One representative dataset calibrates every quantizer: TFLite's converter
iterates it, onnxruntime's static quantizer reads it through
:meth:`RepresentativeDataset.onnx_reader`; :class:`CalibrationMethod` names
how onnxruntime turns the observed ranges into scales.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import Enum

import numpy as np

from edge.errors import ConfigError, DataError

__all__ = ["make_windows", "RepresentativeDataset", "CalibrationMethod", "DEFAULT_REPRESENTATIVE_COUNT"]

DEFAULT_REPRESENTATIVE_COUNT = 300


def make_windows(values: np.ndarray, window: int, hop: int) -> np.ndarray:
    """All windows ``(m, window, channels)`` starting at 0, hop, 2*hop ... (as ``SlidingWindow``)."""
    data = np.asarray(values, dtype=np.float32)
    if len(data) < window:
        raise DataError(f"need at least {window} rows for one window of {window}, got {len(data)}")
    view = np.lib.stride_tricks.sliding_window_view(data, window, axis=0)[::hop]
    return np.ascontiguousarray(view.transpose(0, 2, 1))


class CalibrationMethod(str, Enum):
    """How activation ranges are chosen from the representative data (onnxruntime static quantization).

    TFLite's converter always uses min-max; onnxruntime supports all three.
    """

    MINMAX = "minmax"
    PERCENTILE = "percentile"
    ENTROPY = "entropy"

    @classmethod
    def parse(cls, text: str) -> "CalibrationMethod":
        try:
            return cls(text.lower())
        except ValueError:
            raise ConfigError(f"calibration method must be one of {', '.join(m.value for m in cls)}, got {text!r}")


def _stratified_picks(count: int, strata: np.ndarray) -> np.ndarray:
    """About ``count`` indices, shared among strata in proportion to their size (each at least one),
    evenly spaced within each stratum so they also cover its whole time span."""
    picks = []
    labels, sizes = np.unique(strata, return_counts=True)
    for label, size in zip(labels, sizes):
        members = np.flatnonzero(strata == label)
        take = min(size, max(1, int(round(count * size / len(strata)))))
        picks.append(members[np.unique(np.linspace(0, size - 1, num=take).round().astype(int))])
    return np.sort(np.concatenate(picks))


class RepresentativeDataset:
    """A fixed, rewindable sample of model inputs that calibrates INT8 quantization.

    The sample is stratified (by class label, or by stretch of time for
    unlabelled windows) and evenly spaced within each stratum. Iterating yields
    batches of one input in the model's dtype (float32 windows, int32 token
    ids); iterate again to rewind.

    Args:
        inputs: candidate model inputs ``(n, ...)``.
        count: how many to keep (default 300); all of them when there are fewer.
        strata: one label per input; ``None`` spreads the sample evenly over the inputs.
    """

    def __init__(self, inputs: np.ndarray, count: int = DEFAULT_REPRESENTATIVE_COUNT,
                 strata: np.ndarray | None = None) -> None:
        if len(inputs) == 0:
            raise DataError("the representative dataset needs at least one window")
        if count < 1:
            raise ConfigError(f"the representative dataset needs a count >= 1, got {count}")
        if strata is not None and len(strata) != len(inputs):
            raise DataError(f"{len(strata)} strata labels for {len(inputs)} inputs")
        if strata is None:
            picks = np.unique(np.linspace(0, len(inputs) - 1, num=min(count, len(inputs))).round().astype(int))
        else:
            picks = _stratified_picks(count, np.asarray(strata))
        data = np.asarray(inputs)[picks]
        self.windows = data.astype(np.float32) if data.dtype.kind == "f" else data.astype(np.int32)
        self.strata = None if strata is None else np.asarray(strata)[picks]

    def __len__(self) -> int:
        return len(self.windows)

    def __iter__(self) -> Iterator[np.ndarray]:
        for window in self.windows:
            yield window[None]

    def describe(self) -> dict:
        """What the manifest and report record about the sample."""
        sampling = "stratified by label or time stretch, evenly spaced within each" if self.strata is not None \
            else "evenly spaced over the training inputs"
        return {"windows": len(self), "sampling": sampling}

    def onnx_reader(self, input_name: str):
        """An onnxruntime ``CalibrationDataReader`` over this sample (``get_next`` / ``rewind``)."""
        from onnxruntime.quantization import CalibrationDataReader

        dataset = self

        class _Reader(CalibrationDataReader):
            def __init__(self) -> None:
                self._it = iter(dataset)

            def get_next(self):
                batch = next(self._it, None)
                return None if batch is None else {input_name: batch}

            def rewind(self) -> None:
                self._it = iter(dataset)

        return _Reader()
