"""Spoken keywords made with espeak-ng and sox: labelled training clips and a stream to play live.

Every word is spoken by espeak-ng (22.05 kHz) in several voices, speeds and
pitches, trimmed of its silence and resampled to 16 kHz by sox (``SOX_OPTS=-R``:
byte-identical across runs). Clips are one model window long (``CLIP_S``) and
written one directory per label, the layout ``edgewatch train classifier --data
DIR --features mfcc`` reads. Each keyword clip holds the whole word at a seeded
random place over low pink noise; ``background`` holds digital silence, noise,
other words and fragments of the keywords (so a word half inside a window is
not taken for it). The stream for the live test uses speaking styles the
training clips do not.
"""

from __future__ import annotations

import os
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["KeywordSet", "make_keyword_set", "make_stream", "evaluation_script", "espeak_missing", "KEYWORDS",
           "CLIP_S", "WINDOW_FRAMES", "RATE"]

RATE = 16000
KEYWORDS = ("alarm", "start", "stop")
OTHER_WORDS = ("hello", "seven", "table", "window", "yellow", "music", "coffee", "paper", "llama",
               "orange", "river", "hollow")
VOICES = ("en-us", "en-gb", "en-gb-scotland", "en-029", "en-us+f3", "en-gb-x-rp+f2", "en-us-nyc",
          "en-gb-x-gbclan+m3", "en-gb+m5", "en-us+m2", "en-029+f4", "en-gb-scotland+f1")
STYLES = ((130, 40), (160, 55), (190, 70))  # espeak-ng words per minute, pitch 0-99
HELD_OUT_STYLES = ((145, 62), (175, 45))  # the live stream speaks in these
WINDOW_FRAMES = 100  # MFCC frames per window: 10 ms hop, 1.022 s of audio
COPIES = 3  # placements of each spoken keyword
CLIP_S = 1.05  # one window of MFCC frames (and a little slack)
NOISE_LEVEL = 0.004  # RMS of the pink noise under every clip and the stream


@dataclass(frozen=True)
class KeywordSet:
    clips: Path  # one directory per label: alarm/, start/, stop/, background/
    stream: Path  # noise with keywords and other words at known times
    spoken: tuple[tuple[float, str], ...]  # (onset s, word) of every keyword in the stream
    others: tuple[tuple[float, str], ...]  # (onset s, word) of the other words in the stream
    duration_s: float


def espeak_missing() -> str | None:
    for tool in ("espeak-ng", "sox"):
        if subprocess.run(["which", tool], capture_output=True).returncode != 0:
            return f"{tool} is missing: apt install espeak-ng sox (bash scripts/setup.sh does)"
    return None


def _speak(word: str, voice: str, speed: int, pitch: int, work: Path) -> np.ndarray:
    """espeak-ng -> sox (trim silence, 16 kHz) -> float32 samples of the word alone."""
    raw, out = work / "raw.wav", work / "word.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(raw), word],
                   check=True, capture_output=True, timeout=60)
    subprocess.run(["sox", str(raw), "-r", str(RATE), "-b", "16", str(out), "silence", "1", "0.005", "0.5%",
                    "reverse", "silence", "1", "0.005", "0.5%", "reverse", "norm", "-3"],
                   check=True, capture_output=True, timeout=60, env={**os.environ, "SOX_OPTS": "-R"})
    with wave.open(str(out)) as handle:
        data = np.frombuffer(handle.readframes(handle.getnframes()), "<i2")
    return data.astype(np.float32) / 32768.0


def _pink(rng: np.random.Generator, count: int, rms: float) -> np.ndarray:
    """Pink-ish noise (1/f power) of the given RMS."""
    spectrum = np.fft.rfft(rng.standard_normal(count))
    spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum)), 1.0))
    noise = np.fft.irfft(spectrum, count)
    return (noise * rms / max(float(np.sqrt(np.mean(noise ** 2))), 1e-12)).astype(np.float32)


def _write(path: Path, samples: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pcm = np.clip(np.round(samples * 32767.0), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(RATE)
        handle.writeframes(pcm.tobytes())


def _place(word: np.ndarray, length: int, rng: np.random.Generator, gain: float) -> np.ndarray:
    clip = _pink(rng, length, NOISE_LEVEL * rng.uniform(0.5, 2.0))
    start = int(rng.integers(0, max(1, length - len(word))))
    clip[start:start + len(word)] += gain * word[:length - start]
    return clip


def _background(rng: np.random.Generator, length: int, others: list[np.ndarray], keywords: list[np.ndarray],
                count: int) -> list[np.ndarray]:
    """Silence, noise, other words and keyword fragments (at most 40 % of a word, at a clip edge)."""
    clips = [np.zeros(length, np.float32) for _ in range(4)]
    clips += [_pink(rng, length, NOISE_LEVEL * level) for level in np.geomspace(0.25, 8.0, 30)]
    for word in others:
        clips.append(_place(word, length, rng, rng.uniform(0.3, 1.0)))
    for word in keywords[::2]:
        piece = int(len(word) * rng.uniform(0.15, 0.4))
        clip = _pink(rng, length, NOISE_LEVEL)
        if rng.random() < 0.5:  # the word's end leaving the window
            clip[:piece] += word[-piece:]
        else:  # the word's beginning entering it
            clip[-piece:] += word[:piece]
        clips.append(clip)
    return clips[:count] if count else clips


def make_keyword_set(root: Path, seed: int = 7) -> KeywordSet:
    """Write the labelled clips and the live stream under ``root``."""
    rng = np.random.default_rng(seed)
    work = root / "work"
    work.mkdir(parents=True, exist_ok=True)
    length = int(CLIP_S * RATE)
    spoken = {w: [_speak(w, v, s, p, work) for v in VOICES for s, p in STYLES] for w in KEYWORDS}
    others = [_speak(w, v, s, p, work) for i, w in enumerate(OTHER_WORDS) for v in VOICES[i % 2::2]
              for s, p in STYLES[i % 3:i % 3 + 2]]
    for label, words in spoken.items():
        for i, word in enumerate(words):
            for copy in range(COPIES):
                _write(root / "clips" / label / f"{label}_{i:02d}_{copy}.wav",
                       _place(word, length, rng, rng.uniform(0.4, 1.0)))
    keyword_list = [w for words in spoken.values() for w in words]
    for i, clip in enumerate(_background(rng, length, others, keyword_list, 0)):
        _write(root / "clips" / "background" / f"background_{i:03d}.wav", clip)
    stream, spoken_at, others_at, duration = _stream(rng, work)
    _write(root / "stream.wav", stream)
    return KeywordSet(root / "clips", root / "stream.wav", spoken_at, others_at, duration)


# the test stream: (onset s, word, voice, style index in HELD_OUT_STYLES)
STREAM_SCRIPT = (
    (2.0, "start", "en-us", 0), (4.5, "hello", "en-gb", 1), (7.0, "stop", "en-gb", 1),
    (9.5, "alarm", "en-gb-scotland", 0), (12.0, "seven", "en-us", 0), (14.5, "stop", "en-029", 0),
    (17.0, "start", "en-us+f3", 1), (19.5, "table", "en-029", 1), (22.0, "alarm", "en-us-nyc", 1),
)
SPACING_S = 2.5  # between word onsets in a stream


def _stream(rng: np.random.Generator, work: Path, script=STREAM_SCRIPT):
    duration = script[-1][0] + SPACING_S
    stream = _pink(rng, int(duration * RATE), NOISE_LEVEL)
    keywords, others = [], []
    for onset, word, voice, style in script:
        speed, pitch = HELD_OUT_STYLES[style]
        samples = _speak(word, voice, speed, pitch, work)
        start = int(onset * RATE)
        stream[start:start + len(samples)] += 0.8 * samples
        (keywords if word in KEYWORDS else others).append((onset, word))
    return stream, tuple(keywords), tuple(others), duration


def evaluation_script(per_keyword: int, others: int, seed: int) -> tuple:
    """A longer stream for measuring: each keyword ``per_keyword`` times and ``others`` other words, shuffled,
    every voice, the held-out styles, one word every ``SPACING_S`` s after 2 s of noise."""
    rng = np.random.default_rng(seed)
    words = [w for w in KEYWORDS for _ in range(per_keyword)] + list(rng.choice(OTHER_WORDS, others))
    order = rng.permutation(len(words))
    return tuple((2.0 + SPACING_S * i, str(words[j]), VOICES[int(rng.integers(len(VOICES)))],
                  int(rng.integers(len(HELD_OUT_STYLES)))) for i, j in enumerate(order))


def make_stream(path: Path, script: tuple, seed: int = 11) -> KeywordSet:
    """Write a stream for ``script`` (see :func:`evaluation_script`); ``clips`` of the result is unset."""
    path.parent.mkdir(parents=True, exist_ok=True)
    work = path.parent / "work"
    work.mkdir(exist_ok=True)
    stream, keywords, others, duration = _stream(np.random.default_rng(seed), work, script)
    _write(path, stream)
    return KeywordSet(Path(), path, keywords, others, duration)
