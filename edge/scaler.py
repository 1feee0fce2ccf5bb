"""Per-channel standardisation shared by training (host) and inference (device)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edge.errors import BundleError, DataError

__all__ = ["StandardScaler"]


@dataclass(frozen=True)
class StandardScaler:
    """``(x - mean) / scale`` per channel; stored in the manifest as plain lists."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]

    @classmethod
    def fit(cls, values: np.ndarray) -> "StandardScaler":
        """Fit on rows of shape ``(n, channels)``; constant channels get scale 1."""
        data = np.asarray(values, dtype=np.float64)
        if data.ndim != 2 or len(data) < 2:
            raise DataError(f"need at least 2 rows to fit a scaler, got shape {data.shape}")
        std = data.std(axis=0)
        std[std < 1e-12] = 1.0
        return cls(tuple(float(v) for v in data.mean(axis=0)), tuple(float(v) for v in std))

    def transform(self, values: np.ndarray) -> np.ndarray:
        """Scale rows (any leading shape, channels last) to float32."""
        mean = np.asarray(self.mean, dtype=np.float32)
        scale = np.asarray(self.scale, dtype=np.float32)
        return ((np.asarray(values, dtype=np.float32) - mean) / scale).astype(np.float32)

    def to_dict(self) -> dict:
        return {"kind": "standard", "mean": list(self.mean), "scale": list(self.scale)}

    @classmethod
    def from_dict(cls, data: dict) -> "StandardScaler":
        if data.get("kind") != "standard" or len(data["mean"]) != len(data["scale"]):
            raise BundleError(f"unsupported or inconsistent scaler in manifest: {data.get('kind')!r}")
        return cls(tuple(float(v) for v in data["mean"]), tuple(float(v) for v in data["scale"]))
