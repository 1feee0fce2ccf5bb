"""Per-channel weights for the window score, from how much each sensor drifts in the training rows.

A slowly wandering sensor (a temperature, a thermocouple) looks calm within a short training
record, so its standard deviation there underestimates how far normal operation goes: once the
stream drifts past the training range, its scaled residuals grow and false alarms follow. The
drift ratio ``R`` measures this: the long-run standard deviation of the channel (from the means of
consecutive blocks of rows, the batch-means estimate) over its plain standard deviation. ``R`` is
about 1 for a channel whose samples are independent and well above 1 for one that drifts.
Channels with ``R`` above a cut get the weight ``1 / R`` on their residual; the others keep 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edge.errors import ConfigError, DataError
from edge.score import CHANNEL_MAX_MSE, RECONSTRUCTION_MSE, ScoreSpec

__all__ = ["DriftConfig", "drift_ratios", "drift_weights", "SCORE_CHOICES", "score_spec_for"]

MIN_BLOCKS = 4


@dataclass(frozen=True)
class DriftConfig:
    """How drift is measured.

    Attributes:
        block: rows per block whose means estimate the long-run variation.
        cut: channels whose drift ratio exceeds this are down-weighted by ``1 / R``.
    """

    block: int = 25
    cut: float = 3.0

    def __post_init__(self) -> None:
        if self.block < 2:
            raise ConfigError(f"drift block must be >= 2 rows, got {self.block}")
        if self.cut < 1.0:
            raise ConfigError(f"drift cut must be >= 1, got {self.cut}")


def drift_ratios(rows: np.ndarray, block: int = DriftConfig.block) -> np.ndarray:
    """Per channel, long-run over plain standard deviation of ``rows`` ``(n, channels)``, at least 1."""
    data = np.asarray(rows, dtype=np.float64)
    if data.ndim != 2 or len(data) < MIN_BLOCKS * block:
        raise DataError(f"drift weights need at least {MIN_BLOCKS * block} training rows "
                        f"({MIN_BLOCKS} blocks of {block}), got {len(data)}")
    usable = len(data) // block * block
    means = data[:usable].reshape(-1, block, data.shape[1]).mean(axis=1)
    plain = data.std(axis=0)
    plain[plain < 1e-12] = 1.0  # a constant channel does not drift
    return np.maximum(1.0, means.std(axis=0) * np.sqrt(block) / plain)


def drift_weights(rows: np.ndarray, config: DriftConfig = DriftConfig()) -> tuple[float, ...]:
    """Residual weights per channel: ``1 / R`` where the drift ratio ``R`` exceeds the cut, else 1."""
    ratios = drift_ratios(rows, config.block)
    return tuple(float(1.0 / r) if r > config.cut else 1.0 for r in ratios)


# the names the CLI takes -> score kinds
SCORE_CHOICES = {"mse": RECONSTRUCTION_MSE, "channel-max": CHANNEL_MAX_MSE}


def score_spec_for(choice: str, train_rows: np.ndarray, config: DriftConfig = DriftConfig()) -> ScoreSpec:
    """The score spec for a CLI choice: ``mse`` as before, ``channel-max`` with drift weights of ``train_rows``."""
    if choice not in SCORE_CHOICES:
        raise ConfigError(f"--score must be one of {', '.join(SCORE_CHOICES)}, got {choice!r}")
    if SCORE_CHOICES[choice] == RECONSTRUCTION_MSE:
        return ScoreSpec()
    return ScoreSpec(CHANNEL_MAX_MSE, drift_weights(train_rows, config))
