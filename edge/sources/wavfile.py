"""Reading WAV files with the standard library: PCM 8/16/24/32-bit and IEEE float 32/64.

Python's ``wave`` module refuses float and (before 3.12) WAVE_FORMAT_EXTENSIBLE
files, which sox writes for anything beyond 16-bit stereo, so this reads the
RIFF chunks itself. Samples come out as float32 in [-1, 1), ``(frames, channels)``,
the scaling PortAudio uses for a microphone's int16 (``x / 32768``).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.errors import DataError

__all__ = ["WavInfo", "read_wav_info", "iter_wav_blocks", "read_wav"]

_PCM, _FLOAT, _EXTENSIBLE = 1, 3, 0xFFFE


@dataclass(frozen=True)
class WavInfo:
    """Where the samples are and how they are stored."""

    path: Path
    sample_rate: int
    channels: int
    bits: int
    is_float: bool
    data_offset: int
    data_bytes: int

    @property
    def frames(self) -> int:
        return self.data_bytes // (self.channels * self.bits // 8)

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate


def read_wav_info(path: Path) -> WavInfo:
    """Parse the RIFF header; ``DataError`` names what is wrong with the file."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} does not exist or is not a file")
    with path.open("rb") as handle:
        head = handle.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            raise DataError(f"{path.name} is not a WAV file (no RIFF/WAVE header)")
        fmt: tuple[int, int, int, int] | None = None
        while True:
            chunk = handle.read(8)
            if len(chunk) < 8:
                raise DataError(f"{path.name} has no data chunk; the file is truncated or not a WAV")
            name, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if name == b"fmt ":
                fmt = _parse_fmt(handle.read(size), path)
                handle.seek(size % 2, 1)
            elif name == b"data":
                if fmt is None:
                    raise DataError(f"{path.name}: the data chunk comes before the format chunk")
                offset = handle.tell()
                available = path.stat().st_size - offset
                tag, channels, rate, bits = fmt
                return WavInfo(path, rate, channels, bits, tag == _FLOAT, offset, min(size, available))
            else:
                handle.seek(size + size % 2, 1)


def _parse_fmt(body: bytes, path: Path) -> tuple[int, int, int, int]:
    if len(body) < 16:
        raise DataError(f"{path.name}: format chunk too short")
    tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
    if tag == _EXTENSIBLE and len(body) >= 26:
        tag = struct.unpack("<H", body[24:26])[0]  # first two bytes of the sub-format GUID
    supported = (tag == _PCM and bits in (8, 16, 24, 32)) or (tag == _FLOAT and bits in (32, 64))
    if not supported or channels < 1 or rate < 1:
        raise DataError(f"{path.name}: unsupported WAV encoding (format {tag}, {bits} bits, {channels} channels); "
                        "convert it to 16-bit PCM, e.g. sox in.wav -b 16 out.wav")
    return tag, channels, rate, bits


def _decode(raw: bytes, info: WavInfo) -> np.ndarray:
    if info.is_float:
        data = np.frombuffer(raw, dtype="<f4" if info.bits == 32 else "<f8").astype(np.float32)
    elif info.bits == 8:
        data = (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif info.bits == 16:
        data = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    elif info.bits == 24:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        ints = (b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)) << 8 >> 8  # sign-extend
        data = ints.astype(np.float32) / 8388608.0
    else:
        data = (np.frombuffer(raw, dtype="<i4").astype(np.float64) / 2147483648.0).astype(np.float32)
    return data.reshape(-1, info.channels)


def iter_wav_blocks(info: WavInfo, frames_per_block: int = 1024) -> Iterator[np.ndarray]:
    """The samples as float32 blocks of ``(frames_per_block, channels)`` (the last may be shorter)."""
    frame_bytes = info.channels * info.bits // 8
    remaining = info.frames * frame_bytes
    with info.path.open("rb") as handle:
        handle.seek(info.data_offset)
        while remaining > 0:
            raw = handle.read(min(remaining, frames_per_block * frame_bytes))
            if not raw:
                return
            remaining -= len(raw)
            yield _decode(raw, info)


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """A whole WAV file as float32 ``(frames, channels)`` and its sample rate (for training)."""
    info = read_wav_info(path)
    blocks = list(iter_wav_blocks(info, 1 << 16))
    data = np.concatenate(blocks) if blocks else np.empty((0, info.channels), np.float32)
    return data, info.sample_rate
