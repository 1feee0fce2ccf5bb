"""Replay of a WAV file through the microphone's own audio path (``file:recording.wav``).

Blocks are read as a sound card would deliver them and go through the same
:class:`~edge.sources.audio.AudioChunker` as :mod:`edge.sources.mic` (downmix,
resampling to the bundle's rate), so a recording replays exactly as the live
microphone would have fed it. ``--rate real`` releases each block when its
duration has passed; ``max`` reads as fast as the consumer takes them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

from edge.sources.audio import AudioChunker, target_rate
from edge.sources.base import Chunk, StreamRequest
from edge.sources.pacing import Pacer
from edge.sources.wavfile import iter_wav_blocks, read_wav_info

__all__ = ["WavFileSource", "WAV_SUFFIXES"]

WAV_SUFFIXES = (".wav", ".wave")


class WavFileSource:
    """Streams a WAV file at the bundle's sample rate; see the module docstring."""

    name = "file"
    live = False

    def __init__(self, path: Path, request: StreamRequest, block_frames: int = 1024) -> None:
        self.info = read_wav_info(Path(path))
        self.spec = f"file:{Path(path).name}"
        self._request = request
        self._block_frames = block_frames
        rate = target_rate(request, self.info.sample_rate, f"file:{Path(path).name}")
        self._chunker = AudioChunker(self.info.sample_rate, rate, self.info.channels, request.channels,
                                     f"file:{Path(path).name}")
        self._closed = threading.Event()

    def chunks(self) -> Iterator[Chunk]:
        pacer = Pacer() if self._request.pace == "real" else None
        read = 0
        for block in iter_wav_blocks(self.info, self._block_frames):
            if self._closed.is_set():
                return
            read += len(block)
            if pacer is not None:
                pacer.wait_until(read / self.info.sample_rate, self._closed, origin=0.0)
            chunk = self._chunker.push(block)
            if chunk is not None:
                yield chunk

    def close(self) -> None:
        self._closed.set()

    def stats(self) -> dict:
        """Samples read and delivered (any thread)."""
        return {"native_rate": self.info.sample_rate, "rate": self._chunker.out_rate,
                "samples_in": self._chunker.samples_in, "samples": self._chunker.samples_out}
