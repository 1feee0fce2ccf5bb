"""Representative datasets, scalers and anomaly thresholds, shared by conversion and benchmarks."""

from calibration.dataset import RepresentativeDataset, make_windows
from calibration.threshold import ThresholdChoice, ThresholdPolicy, choose_threshold

__all__ = ["RepresentativeDataset", "make_windows", "ThresholdChoice", "ThresholdPolicy", "choose_threshold"]
