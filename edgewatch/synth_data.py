"""Generated training data for the non-autoencoder families (tests, benchmarks, examples).

Each generator is seeded and writes one file in the format its family's loader
reads (see ``convert.data``): a labelled sensor CSV, a frames ``.npz``, a
``text,label`` CSV and a plain text file.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

__all__ = ["write_labelled_events", "write_frames", "write_text_reviews", "write_char_text"]

EVENT_LABELS = ("background", "knock", "hum")


def write_labelled_events(path: Path, rows: int = 6000, channels: int = 4, seed: int = 0) -> Path:
    """Sensor rows in runs of one label: background noise, periodic knocks, or a hum in one channel."""
    rng = np.random.default_rng(seed)
    values = rng.normal(0.0, 1.0, (rows, channels)).astype(np.float32)
    labels, start = [], 0
    while start < rows:
        length = int(rng.integers(150, 400))
        label = EVENT_LABELS[int(rng.integers(len(EVENT_LABELS)))]
        end = min(rows, start + length)
        t = np.arange(end - start)
        if label == "knock":
            values[start:end, 0] += 4.0 * (t % 12 < 2)
        elif label == "hum":
            values[start:end, 1] += 2.5 * np.sin(2 * np.pi * t / 8.0)
        labels.extend([label] * (end - start))
        start = end
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([f"s{i}" for i in range(channels)] + ["label"])
        for row, label in zip(values, labels):
            writer.writerow([f"{v:.5f}" for v in row] + [label])
    return Path(path)


def write_frames(path: Path, count: int = 300, frames: int = 8, size: int = 16, seed: int = 0) -> Path:
    """Grey frame sequences: a still blob, a blob growing frame by frame, or a flickering field.

    The classes differ in how the frames change over time, not in where things are, so a
    per-frame CNN with global pooling followed by an LSTM can tell them apart.
    """
    rng = np.random.default_rng(seed)
    data = rng.normal(0.2, 0.05, (count, frames, size, size, 1)).astype(np.float32)
    labels = rng.choice(["still", "growing", "flicker"], count)
    for i, label in enumerate(labels):
        x0, y0 = rng.integers(0, size // 2, 2)
        for t in range(frames):
            if label == "still":
                data[i, t, y0:y0 + 5, x0:x0 + 5] += 0.8
            elif label == "growing":
                side = 2 + (t * (size // 2 - 2)) // max(1, frames - 1)
                data[i, t, y0:y0 + side, x0:x0 + side] += 0.8
            else:
                data[i, t] += 0.6 * (t % 2)
    np.savez(path, frames=data, labels=labels.astype("U8"))
    return Path(path)


_POSITIVE = "great wonderful superb lovely brilliant enjoyable moving delightful".split()
_NEGATIVE = "awful boring dreadful dull terrible tedious painful clumsy".split()
_FILLER = "the film plot acting was and a story with its cast very quite this movie ending".split()


def write_text_reviews(path: Path, count: int = 600, seed: int = 0) -> Path:
    """Short reviews; the label follows the majority of sentiment words among filler."""
    rng = np.random.default_rng(seed)
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        for _ in range(count):
            label = "pos" if rng.random() < 0.5 else "neg"
            main, other = (_POSITIVE, _NEGATIVE) if label == "pos" else (_NEGATIVE, _POSITIVE)
            words = list(rng.choice(_FILLER, int(rng.integers(6, 14))))
            words += list(rng.choice(main, 3)) + list(rng.choice(other, 1))
            rng.shuffle(words)
            writer.writerow([" ".join(words), label])
    return Path(path)


def write_char_text(path: Path, sentences: int = 400, seed: int = 0) -> Path:
    """Sentences from a tiny grammar: learnable in seconds, so generated text is recognisable."""
    rng = np.random.default_rng(seed)
    subjects, verbs, objects = ["the pump", "a motor", "the valve", "the fan"], ["hums", "runs", "stops", "spins"], \
        ["slowly", "at night", "again", "for hours"]
    text = " ".join(f"{rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(objects)}." for _ in range(sentences))
    Path(path).write_text(text + "\n", encoding="utf-8")
    return Path(path)
