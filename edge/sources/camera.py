"""Cameras and video through OpenCV: ``camera:0``, ``camera:http://host/stream.mjpg``, ``camera:rtsp://...``,
``file:clip.mp4``.

A device index, a ``/dev/video*`` path or a URL is live; a video file is a
replay, and both run this same loop: grab every frame, keep those that fall on
the bundle's frame rate by their timestamps (file timestamps for a replay,
arrival times for a live stream, whose advertised FPS is often wrong: the
source measures it), decode only the kept ones, and yield each as a
``(1, H, W, 3)`` uint8 BGR chunk for the frame features. A live stream that
fails is reopened with backoff for up to ``reconnect`` seconds (30), then
``SourceError``; a file ends at its end. ``--rate real`` paces a replay at its
timestamps.

Threads: ``chunks()`` on the pipeline's producer; ``close()`` and ``stats()`` on any
(``close`` takes effect after the current grab, at most the read timeout).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edge.errors import ConfigError, MissingDependencyError, SourceError
from edge.sources.base import Chunk, StreamRequest
from edge.sources.pacing import Pacer
from edge.sources.reopen import Backoff, reopen_with_backoff

__all__ = ["CameraOptions", "CameraSource", "FrameSampler", "parse_camera_spec", "open_camera", "cv2_module",
           "VIDEO_SUFFIXES"]

log = logging.getLogger(__name__)
VIDEO_SUFFIXES = (".avi", ".mp4", ".mkv", ".mov", ".webm", ".mjpg", ".mjpeg")
_STREAM_SCHEMES = ("http://", "https://", "rtsp://", "rtsps://", "rtmp://", "udp://", "tcp://")


@dataclass(frozen=True)
class CameraOptions:
    """What to open: an index, a device path, a URL or a video file."""

    target: int | str
    live: bool
    reconnect_s: float = 30.0
    timeout_s: float = 5.0


def parse_camera_spec(arg: str) -> CameraOptions:
    """``INDEX | /dev/videoN | URL | FILE`` -> options; a missing file is a ``ConfigError``."""
    arg = arg.strip()
    if not arg:
        raise ConfigError("camera source needs an index, URL or file: camera:0, camera:rtsp://..., camera:clip.mp4")
    if arg.isdigit():
        return CameraOptions(int(arg), live=True)
    if arg.lower().startswith(_STREAM_SCHEMES) or arg.startswith("/dev/"):
        return CameraOptions(arg, live=True)
    if not Path(arg).is_file():
        raise ConfigError(f"camera source {arg!r} is neither an index, a stream URL nor an existing video file")
    return CameraOptions(arg, live=False)


def cv2_module() -> Any:
    """Import OpenCV, or say which install fixes it."""
    try:
        import cv2
    except ImportError as exc:
        raise MissingDependencyError("camera and video sources need OpenCV: pip install 'edgewatch[camera]'") from exc
    return cv2


class FrameSampler:
    """Keeps the frames that fall due at ``fps`` (by their own timestamps); None keeps all."""

    def __init__(self, fps: float | None) -> None:
        self.period = 1.0 / fps if fps else 0.0
        self._origin: float | None = None
        self._taken = 0

    def take(self, t: float) -> bool:
        if not self.period:
            return True
        if self._origin is None:
            self._origin = t
        due = self._origin + self._taken * self.period
        if t + 1e-6 < due:
            return False
        if t - due >= self.period:  # the source is slower than the model's rate: do not burst to catch up
            self._origin, self._taken = t, 0
        self._taken += 1
        return True


class CameraSource:
    """Frames from OpenCV as ``Chunk``s, sampled to the bundle's frame rate; see the module docstring."""

    name = "camera"

    def __init__(self, options: CameraOptions, request: StreamRequest) -> None:
        if request.media != "video":
            raise ConfigError("a camera or video gives frames, but this bundle has no frame features "
                              "(it expects rows or audio); use a bundle trained on frames")
        self.options, self._request = options, request
        self.live = options.live
        kind = "camera" if options.live else "file"
        shown = options.target if options.live else Path(str(options.target)).name
        self.spec = f"{kind}:{shown}"
        self._cv2 = cv2_module()
        self._closed = threading.Event()
        self._capture: Any = None
        self.frames_read = self.frames_used = self.bad_frames = self.reconnects = 0
        self.last_error: str | None = None
        self._started: float | None = None
        self._lock = threading.Lock()
        self._reading = False
        self._capture = self._open()

    def _open(self) -> Any:
        cv2, target = self._cv2, self.options.target
        if isinstance(target, str) and target.lower().startswith(_STREAM_SCHEMES):
            ms = int(self.options.timeout_s * 1000)
            capture = cv2.VideoCapture(target, cv2.CAP_FFMPEG,
                                       [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms])
        else:
            capture = cv2.VideoCapture(target)
        if not capture.isOpened():
            capture.release()
            raise SourceError(f"cannot open {self.spec}: OpenCV could not open it (check the index, URL or file, "
                              "and that no other program holds the camera)")
        return capture

    def chunks(self) -> Iterator[Chunk]:
        sampler = FrameSampler(self._request.sample_rate)
        pacer = Pacer() if (self._request.pace == "real" and not self.live) else None
        gap = 0
        with self._lock:
            self._reading = True
        try:
            while not self._closed.is_set():
                if self._capture is None:
                    self._capture = self._reopen()
                    gap = 1
                    continue
                if not self._capture.grab():
                    if not self.live:
                        return
                    self._lost("the stream stopped delivering frames")
                    continue
                now = time.time()
                self._started = self._started or time.monotonic()
                self.frames_read += 1
                t = now if self.live else self._capture.get(self._cv2.CAP_PROP_POS_MSEC) / 1000.0
                if not sampler.take(t):
                    continue
                ok, frame = self._capture.retrieve()
                if not ok or frame is None:
                    self.bad_frames += 1
                    continue
                if frame.ndim == 2:
                    frame = np.repeat(frame[:, :, None], 3, axis=2)
                if pacer is not None:
                    pacer.wait_until(t, self._closed)
                self.frames_used += 1
                yield Chunk(frame[None], np.array([now if self.live else math.nan]), gap=gap)
                gap = 0
        finally:
            with self._lock:
                self._reading = False
                self._release()

    def _lost(self, reason: str) -> None:
        self.last_error = reason
        log.warning("%s: %s; reopening for up to %g s", self.spec, reason, self.options.reconnect_s)
        self._release()

    def _reopen(self) -> Any:
        def give_up(exc: SourceError) -> SourceError:
            return SourceError(f"{self.spec} failed and could not be reopened within "
                               f"{self.options.reconnect_s:g} s ({exc})")

        def failed(exc: SourceError) -> None:
            self.last_error = str(exc)

        capture = reopen_with_backoff(self._open, self._closed, Backoff(self.options.reconnect_s, first_s=0.2),
                                      give_up, failed)
        if capture is not None:
            self.reconnects += 1
            log.info("%s reopened (reconnect %d)", self.spec, self.reconnects)
        return capture

    def _release(self) -> None:
        capture, self._capture = self._capture, None
        if capture is not None:
            capture.release()

    def close(self) -> None:
        """Stop after the current grab (any thread)."""
        self._closed.set()
        with self._lock:
            if not self._reading:
                self._release()

    def stats(self) -> dict[str, Any]:
        """Frames read and used, the measured input rate and reconnects (any thread)."""
        elapsed = time.monotonic() - self._started if self._started else 0.0
        return {"target": str(self.options.target) if self.live else self.spec, "live": self.live,
                "connected": self._capture is not None, "frames_read": self.frames_read,
                "frames_used": self.frames_used, "bad_frames": self.bad_frames,
                "fps_in": round(self.frames_read / elapsed, 2) if self.live and elapsed > 0 else None,
                "reconnects": self.reconnects, "last_error": self.last_error}


def open_camera(arg: str, request: StreamRequest) -> CameraSource:
    """The source for ``camera:ARG`` (or a video ``file:``); opens it now."""
    return CameraSource(parse_camera_spec(arg), request)
