"""Machine-sound WAVs made with sox: a normal hum, and the same hum with a frequency shift,
clicks and a level surge. ``SOX_OPTS=-R`` makes every file byte-identical across runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["AudioSet", "make_audio_set", "sox", "sox_missing", "HUM", "SEGMENTS"]

RATE = 16000
# the normal machine: a 120 Hz hum with its harmonic over pink noise
HUM = ["synth", "{secs}", "sine", "120", "sine", "240", "pinknoise", "remix", "-", "vol", "0.3"]
# the anomalous stream: (name, seconds, sox effects after the common "-n" input)
SEGMENTS = [
    ("normal", 6.0, HUM),
    ("shift", 2.0, ["synth", "{secs}", "sine", "180", "sine", "360", "pinknoise", "remix", "-", "vol", "0.3"]),
    ("normal", 4.0, HUM),
    ("clicks", 2.0, None),  # the hum mixed with 5 ms noise bursts, 4 per second
    ("normal", 4.0, HUM),
    ("surge", 2.0, ["synth", "{secs}", "sine", "120", "sine", "240", "pinknoise", "remix", "-", "vol", "1.0"]),
    ("normal", 4.0, HUM),
]


@dataclass(frozen=True)
class AudioSet:
    normal: Path  # training recording of the normal hum
    stream: Path  # normal hum with the anomalies of SEGMENTS
    stream_44k: Path  # the same, resampled by sox to 44.1 kHz: what a USB microphone would deliver
    anomalies: dict  # name -> (start_s, end_s) in the stream
    duration_s: float


def sox_missing() -> str | None:
    return None if shutil.which("sox") else "sox is missing: apt install sox (bash scripts/setup.sh does)"


def sox(*args: str) -> None:
    env = {**os.environ, "SOX_OPTS": "-R"}
    done = subprocess.run(["sox", *args], env=env, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"sox {' '.join(args)} failed: {done.stderr}")


def _segment(root: Path, index: int, name: str, secs: float, effects: list[str] | None, hum: Path,
             offset: float) -> Path:
    """One stretch of the stream; normal hum is cut from the long recording past the training part."""
    out = root / f"seg{index}_{name}.wav"
    head = ["-n", "-r", str(RATE), "-b", "16", "-c", "1"]
    if name == "normal" or effects is None:
        target = out if name == "normal" else root / f"seg{index}_hum.wav"
        sox(str(hum), str(target), "trim", f"{offset}", f"{secs}")
        if name == "normal":
            return out
        bursts, burst = root / f"seg{index}_bursts.wav", root / "burst.wav"
        sox(*head, str(burst), "synth", "0.005", "whitenoise", "vol", "0.9", "pad", "0", "0.245")
        sox(str(burst), str(bursts), "repeat", str(int(secs * 4) - 1))
        sox("-m", "-v", "1", str(target), "-v", "1", str(bursts), str(out))
        return out
    sox(*head, str(out), *[e.format(secs=secs) for e in effects])
    return out


def make_audio_set(root: Path, normal_s: float = 60.0) -> AudioSet:
    """Write the training hum and the anomalous stream under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    total = sum(secs for _, secs, _ in SEGMENTS)
    hum, normal = root / "hum_long.wav", root / "normal_hum.wav"
    sox("-n", "-r", str(RATE), "-b", "16", "-c", "1", str(hum), *[e.format(secs=normal_s + total) for e in HUM])
    sox(str(hum), str(normal), "trim", "0", f"{normal_s}")
    parts, anomalies, t = [], {}, 0.0
    for i, (name, secs, effects) in enumerate(SEGMENTS):
        parts.append(str(_segment(root, i, name, secs, effects, hum, normal_s + t)))
        if name != "normal":
            anomalies[name] = (t, t + secs)
        t += secs
    stream, stream_44k = root / "stream.wav", root / "stream_44k.wav"
    sox(*parts, str(stream))
    sox(str(stream), str(stream_44k), "rate", "-v", "44100")
    return AudioSet(normal, stream, stream_44k, anomalies, t)
