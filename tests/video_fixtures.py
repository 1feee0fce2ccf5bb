"""Generated camera video: a ball circling at a steady pace (normal) and unusual motion.

Motions (all drawn by OpenCV at 160x120, written as MJPG/avi):

    normal    clockwise, one turn every ``TURN_S`` seconds
    fast      clockwise, three times the pace
    jump      clockwise, but the ball leaps a quarter to three quarters of a turn twice a second
    stopped   the ball stands still

(A reversal, counter-clockwise at the normal pace, is not among them: the CNN+LSTM family pools each
frame's features over the whole image, which keeps how much moved but not which way round, and
no training run told the two apart: held-out accuracy 0.47-0.48, chance, with 8 or 16 filters.)

Training clips go one directory per label (the layout ``edgewatch train cnn-lstm --data DIR
--features frames`` reads); the test stream strings motions together at known times.
Everything is seeded, so the files are the same on every run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["MOTIONS", "VideoSet", "make_video_set", "motion_frames", "write_frames", "STREAM_SCRIPT"]

MOTIONS = ("normal", "fast", "jump", "stopped")
SIZE = (160, 120)  # width, height
FPS = 20.0  # frames per second written; the model samples fewer by the frame timestamps
TURN_S = 4.0
RADIUS, BALL = 36, 12  # path radius and ball radius in pixels


def motion_frames(kind: str, seconds: float, seed: int, phase: float | None = None,
                  jitter: bool = True, lead_s: float = 0.0) -> list[np.ndarray]:
    """BGR frames of one motion; ``phase`` (radians) where the ball starts (seeded random if None);
    ``jitter`` moves the path's centre and changes the ball's shade a little (training variety);
    the first ``lead_s`` seconds move normally (how an anomaly begins in a stream)."""
    import cv2

    rng = np.random.default_rng(seed)
    angle = rng.uniform(0, 2 * math.pi) if phase is None else phase
    speed = {"normal": 1.0, "fast": 3.0, "jump": 1.0, "stopped": 0.0}[kind]
    lead = int(round(lead_s * FPS))
    centre = (SIZE[0] / 2 + rng.uniform(-6, 6), SIZE[1] / 2 + rng.uniform(-4, 4)) if jitter else \
        (SIZE[0] / 2, SIZE[1] / 2)
    shade = int(rng.integers(190, 255)) if jitter else 230
    frames = []
    for i in range(int(round(seconds * FPS))):
        if kind == "jump" and i >= lead and (i - lead) % int(FPS / 2) == int(FPS / 4):
            angle += rng.uniform(0.5 * math.pi, 1.5 * math.pi)
        frame = np.full((SIZE[1], SIZE[0], 3), 40, np.uint8)
        x, y = centre[0] + RADIUS * math.cos(angle), centre[1] + RADIUS * math.sin(angle)
        cv2.circle(frame, (int(round(x)), int(round(y))), BALL, (shade, shade, shade), -1, cv2.LINE_AA)
        frames.append(frame)
        angle += 2 * math.pi / (TURN_S * FPS) * (1.0 if i < lead else speed)
    return frames


def write_frames(path: Path, frames: list[np.ndarray], fps: float = FPS) -> Path:
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, SIZE)
    assert writer.isOpened(), f"OpenCV cannot write MJPG to {path.name}"
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


# the test stream: (motion, seconds); anomalies are everything but normal
STREAM_SCRIPT = (("normal", 5.0), ("fast", 3.0), ("normal", 5.0), ("stopped", 3.0), ("normal", 5.0),
                 ("jump", 3.0), ("normal", 5.0))


@dataclass(frozen=True)
class VideoSet:
    clips: Path  # one directory per motion
    stream: Path  # STREAM_SCRIPT as one MJPG/avi file
    segments: tuple[tuple[str, float, float], ...]  # (motion, start s, end s) of each anomaly in the stream
    duration_s: float


def make_video_set(root: Path, clips_per_motion: int = 6, clip_s: float = 4.0, seed: int = 3) -> VideoSet:
    """Write the training clips and the stream under ``root``.

    Every other anomaly clip begins with up to 0.6 s of normal motion: each window of the model
    (0.8 s) still holds some of the anomaly, and the model learns how an anomaly sets in.
    """
    for m, motion in enumerate(MOTIONS):
        for i in range(clips_per_motion):
            lead = 0.0 if motion == "normal" or i % 2 == 0 else 0.3 + 0.1 * (i % 4)
            write_frames(root / "clips" / motion / f"{motion}_{i:02d}.avi",
                         motion_frames(motion, clip_s, seed=seed * 1000 + m * 100 + i, lead_s=lead))
    frames, segments, t = [], [], 0.0
    phase = 0.0
    for j, (motion, secs) in enumerate(STREAM_SCRIPT):
        part = motion_frames(motion, secs, seed=seed * 7919 + j, phase=phase, jitter=False)
        frames += part
        phase = _phase_after(part)
        if motion != "normal":
            segments.append((motion, t, t + secs))
        t += secs
    return VideoSet(root / "clips", write_frames(root / "stream.avi", frames), tuple(segments), t)


def _phase_after(frames: list[np.ndarray]) -> float:
    """Where the ball is in the last frame (so the next motion continues from there, without a leap)."""
    grey = frames[-1][:, :, 0].astype(np.float32) - 40.0
    ys, xs = np.nonzero(grey > 60)
    return math.atan2(ys.mean() - SIZE[1] / 2, xs.mean() - SIZE[0] / 2)


def read_frames(path: Path, start_s: float = 0.0, end_s: float | None = None) -> list[np.ndarray]:
    """The frames of a video written here, from ``start_s`` to ``end_s`` (at ``FPS``)."""
    import cv2

    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames[int(round(start_s * FPS)):None if end_s is None else int(round(end_s * FPS))]
