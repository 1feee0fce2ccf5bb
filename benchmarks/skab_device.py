"""The device side of the SKAB benchmark (``skab.py``): the toolkit's threshold, Decider and streaming path.

Scores become 0/1 row predictions exactly as ``edge-infer`` decides: the decision made when a window
completes belongs to its last row. ``stream_rows`` pushes raw rows in 64-row chunks through
``SlidingWindow`` -> the device scorers -> one ``Decider`` per detector.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from calibration.threshold import choose_threshold
from convert.pipeline import ConvertConfig
from edge.decide import Decider, DecisionConfig
from edge.window import SlidingWindow

__all__ = ["SAMPLE_RATE", "HOP", "DEFAULTS", "decision", "calibrate", "decide_rows", "stream_rows", "SharedBackend",
           "skab_lookahead_rows"]

SAMPLE_RATE = 1.0  # SKAB samples at 1 Hz
HOP = 1  # SKAB decides every row
CHUNK_ROWS = 64  # as edge.sources.file.CsvFileSource
DEFAULTS = ConvertConfig()  # what `edgewatch convert` uses unless told otherwise


def decision(threshold: float, end_ratio: float | None = None) -> DecisionConfig:
    """The toolkit's default debounce and release, with ``end_ratio`` (``--end-ratio``) if given."""
    return DecisionConfig(float(threshold), DEFAULTS.k, DEFAULTS.n, 0, DEFAULTS.release, end_ratio)


def calibrate(scores: np.ndarray) -> float:
    """The toolkit's threshold (default policy) from normal-window scores 1 row apart."""
    return choose_threshold(scores, DEFAULTS.threshold, 3600.0 * SAMPLE_RATE / HOP, decision(1.0), hop=HOP).value


def decide_rows(scores: np.ndarray, config: DecisionConfig, window: int, rows: int) -> np.ndarray:
    """Feed window scores (window ``j`` covers rows ``j .. j+window-1``) to a Decider; 0/1 per row."""
    decider = Decider(config)
    pred = np.zeros(rows, np.int8)
    for j, score in enumerate(scores):
        decider.update(float(score))
        pred[j + window - 1] = decider.active
    return pred


def stream_rows(values: np.ndarray, scorers: dict, detectors: dict[str, tuple[str, DecisionConfig]],
                window: int) -> dict[str, np.ndarray]:
    """Stream raw rows through SlidingWindow -> each scorer once -> every detector's Decider; 0/1 per row.

    ``detectors`` maps a name to (the key of its scorer in ``scorers``, its decision settings).
    """
    windows = SlidingWindow(window, HOP, values.shape[1])
    deciders = {name: (key, Decider(config)) for name, (key, config) in detectors.items()}
    preds = {name: np.zeros(len(values), np.int8) for name in detectors}
    for start in range(0, len(values), CHUNK_ROWS):
        for w in windows.push(values[start : start + CHUNK_ROWS]):
            scores = {key: scorer(w.values) for key, scorer in scorers.items()}
            for name, (key, decider) in deciders.items():
                decider.update(scores[key])
                preds[name][w.end - 1 : w.end - 1 + HOP] = decider.active
    return preds


class SharedBackend:
    """Runs the wrapped backend once per distinct window, so several scorers share one inference."""

    def __init__(self, backend) -> None:
        self.backend, self._last_in, self._last_out = backend, None, None

    def run(self, window: np.ndarray) -> np.ndarray:
        if self._last_in is None or not np.array_equal(window, self._last_in):
            self._last_in, self._last_out = np.array(window, copy=True), self.backend.run(window)
        return self._last_out

    def close(self) -> None:
        self.backend.close()


def skab_lookahead_rows(hits: np.ndarray, window: int, rows: int) -> np.ndarray:
    """SKAB's notebooks: row ``i`` is flagged when windows ``i-window+1 .. i-1`` all exceed UCL
    (a look-ahead of window-2 rows; the last 2*window-1 rows are never flagged)."""
    pred = np.zeros(rows, np.int8)
    for i in range(window - 1, len(hits) - window + 1):
        if np.all(hits[i - window + 1 : i]):
            pred[i] = 1
    return pred
