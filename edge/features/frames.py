"""Camera frame features in numpy: area resize, grayscale, normalisation, optional frame difference.

Input frames are ``uint8`` ``(height, width, 3)`` in OpenCV's BGR order (or
``(height, width)`` grey); each becomes one flat float32 feature row of
``height * width * channels`` values (row-major ``(h, w, c)``), so the sliding
window and the scaler treat a frame like any other sample. Resizing averages
the source pixels each output pixel covers (area interpolation: block means
for integer factors, a separable weighting otherwise), which is what a camera
model wants when shrinking; grey is ITU-R BT.601 luma, as OpenCV computes it.
"""

from __future__ import annotations

import numpy as np

from edge.errors import ConfigError, DataError

__all__ = ["FrameFeatures", "area_weights", "resize_area", "NORMALIZE_MODES"]

NORMALIZE_MODES = ("unit", "standard", "none")
_LUMA_BGR = np.array([0.114, 0.587, 0.299], dtype=np.float32)


def area_weights(src: int, dst: int) -> np.ndarray:
    """``(dst, src)`` matrix: row ``i`` averages the source span output pixel ``i`` covers."""
    scale = src / dst
    edges = np.arange(dst + 1) * scale
    left, right = edges[:-1, None], edges[1:, None]
    pixel = np.arange(src)[None, :]
    overlap = np.clip(np.minimum(right, pixel + 1) - np.maximum(left, pixel), 0.0, None)
    return (overlap / scale).astype(np.float32)


def resize_area(image: np.ndarray, height: int, width: int,
                weights: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Area-resize a float32 ``(H, W)`` or ``(H, W, C)`` image to ``(height, width[, C])``."""
    src_h, src_w = image.shape[:2]
    if (src_h, src_w) == (height, width):
        return image
    if src_h % height == 0 and src_w % width == 0:
        fy, fx = src_h // height, src_w // width
        blocks = image.reshape(height, fy, width, fx, *image.shape[2:])
        return blocks.mean(axis=(1, 3), dtype=np.float32)
    rows, cols = weights if weights is not None else (area_weights(src_h, height), area_weights(src_w, width))
    if image.ndim == 2:
        return rows @ image @ cols.T
    return np.einsum("ih,hwc,jw->ijc", rows, image, cols, optimize=True).astype(np.float32)


class FrameFeatures:
    """Frames in, flat feature rows out; keeps the previous frame for the difference.

    Args:
        width, height: output size in pixels.
        grayscale: one luma channel instead of three (B, G, R).
        normalize: ``unit`` (divide by 255), ``standard`` (zero mean, unit variance per frame)
            or ``none`` (0-255 floats).
        diff: output the change from the previous frame (zeros for the first one) instead of the frame.
    """

    def __init__(self, width: int, height: int, grayscale: bool = True, normalize: str = "unit",
                 diff: bool = False) -> None:
        if width < 1 or height < 1:
            raise ConfigError(f"frame size must be positive, got {width}x{height}")
        if normalize not in NORMALIZE_MODES:
            raise ConfigError(f"frame normalize must be one of {', '.join(NORMALIZE_MODES)}, got {normalize!r}")
        self.width, self.height, self.grayscale, self.normalize, self.diff = width, height, grayscale, normalize, diff
        self.dims = width * height * (1 if grayscale else 3)
        self._weights: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
        self.reset()

    def reset(self) -> None:
        """Forget the previous frame (after a gap or a reconnect)."""
        self._previous: np.ndarray | None = None

    def push(self, values: np.ndarray, times: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Frames ``(n, H, W[, 3])`` -> ``(n, dims)`` float32 rows and their times."""
        frames = np.asarray(values)
        if frames.ndim not in (3, 4) or (frames.ndim == 4 and frames.shape[3] not in (1, 3)):
            raise DataError(f"frame features need frames shaped (n, H, W[, 3]), got {frames.shape}")
        stamps = np.full(len(frames), np.nan) if times is None else np.asarray(times, dtype=np.float64)
        rows = np.empty((len(frames), self.dims), dtype=np.float32)
        for i, frame in enumerate(frames):
            rows[i] = self._one(frame)
        return rows, stamps

    def _one(self, frame: np.ndarray) -> np.ndarray:
        image = frame.astype(np.float32)
        if image.ndim == 3 and image.shape[2] == 1:
            image = image[:, :, 0]
        if self.grayscale and image.ndim == 3:
            image = image @ _LUMA_BGR
        elif not self.grayscale and image.ndim == 2:
            image = np.repeat(image[:, :, None], 3, axis=2)
        image = resize_area(image, self.height, self.width, self._weights_for(image.shape[:2]))
        if self.normalize == "unit":
            image = image / np.float32(255.0)
        elif self.normalize == "standard":
            image = (image - image.mean()) / np.float32(max(float(image.std()), 1e-6))
        flat = image.reshape(-1)
        if not self.diff:
            return flat
        previous, self._previous = self._previous, flat
        return np.zeros_like(flat) if previous is None else flat - previous

    def _weights_for(self, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        if shape not in self._weights:
            self._weights[shape] = (area_weights(shape[0], self.height), area_weights(shape[1], self.width))
        return self._weights[shape]
