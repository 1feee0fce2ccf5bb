"""Text data: a CSV of ``text,label`` for the text classifier, a plain text file for the char generator.

Token id 0 pads (on the left, so the LSTM's last step sees the text), 1 is an
unknown word. The vocabulary travels in the manifest so the device tokenizes
exactly as training did.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path

import numpy as np

from convert.data.base import Dataset, DataOptions, data_file_info, split_indices
from edge.errors import DataError

__all__ = ["load_text_classes", "load_char_text", "tokenize", "encode_words", "PAD", "UNKNOWN"]

PAD, UNKNOWN = 0, 1
IDENTITY_SCALER = {"kind": "standard", "mean": [0.0], "scale": [1.0]}  # token ids go in unscaled
_WORD = re.compile(r"[a-z0-9']+")


def tokenize(text: str) -> list[str]:
    """Lower-case words (the same rule as ``edge.text``)."""
    return _WORD.findall(text.lower())


def encode_words(words: list[str], vocab: dict[str, int], length: int) -> np.ndarray:
    """The last ``length`` word ids, left-padded with ``PAD``."""
    ids = [vocab.get(w, UNKNOWN) for w in words][-length:]
    return np.asarray([PAD] * (length - len(ids)) + ids, np.int32)


def _read_text_csv(path: Path) -> tuple[list[str], list[str]]:
    with Path(path).open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or not {"text", "label"} <= set(reader.fieldnames):
            raise DataError(f"{Path(path).name} needs columns 'text' and 'label' (found {reader.fieldnames})")
        rows = [(r["text"] or "", (r["label"] or "").strip()) for r in reader]
    if len(rows) < 10:
        raise DataError(f"{Path(path).name} has {len(rows)} texts; need at least 10")
    return [t for t, _ in rows], [label for _, label in rows]


def load_text_classes(path: Path, options: DataOptions, scaler=None) -> Dataset:
    """Texts -> word ids of ``options.window`` tokens; vocabulary from the training split only."""
    texts, labels = _read_text_csv(path)
    names = sorted(set(labels))
    if len(names) < 2:
        raise DataError(f"{Path(path).name} has {len(names)} label(s); need at least 2")
    y = np.asarray([names.index(v) for v in labels])
    train, val, test = split_indices(y, (options.holdout_fraction, options.validation_fraction), options.seed)
    words = [tokenize(t) for t in texts]
    counts = Counter(w for i in train for w in words[i])
    vocabulary = [w for w, _ in counts.most_common(max(1, options.vocab_size - 2))]
    index = {w: i + 2 for i, w in enumerate(vocabulary)}
    x = np.stack([encode_words(w, index, options.window) for w in words])
    meta = {"window": options.window, "hop": 1, "columns": ["token"], "labels": names,
            "text": {"kind": "words", "vocabulary": vocabulary, "pad": PAD, "unknown": UNKNOWN},
            "scaler": IDENTITY_SCALER, "sample_rate": None,
            "data": {**data_file_info(path), "rows": len(texts)}}
    return Dataset(x[train], y[train], x[val], y[val], x[test], y[test], y[train], meta)


def load_char_text(path: Path, options: DataOptions, scaler=None) -> Dataset:
    """Every ``window``-character context and its next character; the text's tail is held out."""
    text = Path(path).read_text(encoding="utf-8")
    if len(text) < options.window * 20:
        raise DataError(f"{Path(path).name} has {len(text)} characters; need at least {options.window * 20}")
    chars = sorted(set(text))
    ids = np.asarray([chars.index(c) + 1 for c in text], np.int32)  # 0 pads
    step = options.resolved_hop() if options.hop else 1
    starts = np.arange(0, len(ids) - options.window, step)
    x = np.stack([ids[s:s + options.window] for s in starts])
    y = ids[starts + options.window]
    n_test = int(len(x) * options.holdout_fraction)
    n_val = max(1, int((len(x) - n_test) * options.validation_fraction))
    cut = len(x) - n_test
    meta = {"window": options.window, "hop": 1, "columns": ["char"],
            "text": {"kind": "chars", "vocabulary": chars, "pad": 0},
            "scaler": IDENTITY_SCALER, "sample_rate": None,
            "data": {**data_file_info(path), "rows": len(text)}}
    strata = np.minimum(np.arange(cut - n_val) * 10 // max(1, cut - n_val), 9)
    return Dataset(x[:cut - n_val], y[:cut - n_val], x[cut - n_val:cut], y[cut - n_val:cut], x[cut:], y[cut:],
                   strata, meta)
