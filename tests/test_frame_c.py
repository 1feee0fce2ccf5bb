"""The C99 reference implementation agrees byte for byte with the Python codec.

``firmware_bridge/c/edgewatch_frame.c`` is compiled with gcc together with the line-based
driver ``firmware_bridge/c/tests/frame_driver.c`` (its header documents the commands).
"""

from __future__ import annotations

import random
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from firmware_bridge import (
    Config,
    FrameDecoder,
    Heartbeat,
    InferenceResult,
    LogLine,
    Message,
    ResultKind,
    Samples,
    SampleType,
    cobs_decode,
    cobs_encode,
    crc16,
    decode_frame,
    encode,
)
from firmware_bridge.errors import FrameError
from firmware_bridge.testing import frame_pool, noisy_stream, random_message
from firmware_bridge.vectors import load_vectors, message_from_json

C_DIR = Path(__file__).resolve().parents[1] / "firmware_bridge" / "c"
STRICT = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"]
VECTORS = load_vectors()

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed")


class Driver:
    """Runs batches of commands through the compiled driver."""

    def __init__(self, exe: Path) -> None:
        self.exe = exe

    def run(self, commands: list[str]) -> list[str]:
        done = subprocess.run([str(self.exe)], input="\n".join(commands) + "\n", capture_output=True,
                              text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout.splitlines()

    def decode(self, streams: list[bytes]) -> list[list[str]]:
        """Feed each stream to a fresh ``ew_reader``; the event lines of each."""
        lines, out, current = self.run([f"D {s.hex() or '-'}" for s in streams]), [], []
        for line in lines:
            if line == "END":
                out.append(current)
                current = []
            else:
                current.append(line)
        assert len(out) == len(streams)
        return out


def _compile(out: Path, extra: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(["gcc", *STRICT, *extra, f"-I{C_DIR}", str(C_DIR / "edgewatch_frame.c"),
                           str(C_DIR / "tests" / "frame_driver.c"), "-o", str(out)],
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def driver(tmp_path_factory) -> Driver:
    """The driver built with the strict flags, plus ASan/UBSan where the toolchain has them."""
    root = tmp_path_factory.mktemp("frame_c")
    sanitized = _compile(root / "driver_san", ["-O1", "-g", "-fsanitize=address,undefined",
                                               "-fno-sanitize-recover=all"])
    if sanitized.returncode == 0 and subprocess.run([str(root / "driver_san")], input="", timeout=30,
                                                    capture_output=True, check=False).returncode == 0:
        return Driver(root / "driver_san")
    plain = _compile(root / "driver", ["-O2"])
    assert plain.returncode == 0, plain.stderr
    return Driver(root / "driver")


def test_library_compiles_alone_with_strict_flags(tmp_path):
    done = subprocess.run(["gcc", *STRICT, "-O2", "-c", str(C_DIR / "edgewatch_frame.c"), "-o",
                           str(tmp_path / "frame.o")], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


# --------------------------------------------------------------------------- driver text formats


def _f32(value: float, exact: bool = False) -> str:
    """Float32 as the driver prints it: 8 hex bits, or "nan" (``exact``: always bits)."""
    return "nan" if value != value and not exact else struct.pack(">f", value).hex()


def _hex(data: bytes) -> str:
    return data.hex() or "-"


def _cells(samples: Samples, exact: bool) -> list[str]:
    if samples.sample_type is SampleType.INT16:
        return [str(int(v)) for v in samples.values.ravel()]
    bits = samples.values.ravel().view("<u4")
    nan = np.isnan(samples.values.ravel())
    return ["nan" if n and not exact else f"{int(b):08x}" for b, n in zip(bits, nan)]


def describe(message: Message, exact: bool = False) -> str:
    """A message as the driver prints it after ``OK`` (``exact``: as the ``E`` command takes it)."""
    if isinstance(message, Samples):
        head = [message.seq, message.channels, int(message.sample_type), message.values.shape[0]]
        return " ".join(["samples", *map(str, head), *_cells(message, exact)])
    if isinstance(message, InferenceResult):
        if message.kind is ResultKind.LABEL:
            return f"label {message.seq} {message.label} {_f32(message.confidence, exact)}"
        return f"score {message.seq} {_f32(message.score, exact)} {_f32(message.threshold, exact)}"
    if isinstance(message, Heartbeat):
        return f"heartbeat {message.seq} {message.uptime_ms}"
    if isinstance(message, LogLine):
        return f"log {message.seq} {int(message.level)} {_hex(message.text.encode())}"
    cells = [_hex(part.encode()) for pair in message.entries.items() for part in pair]
    return " ".join(["config", str(message.seq), str(len(message.entries)), *cells])


def command(message: Message) -> str:
    """The driver command that encodes ``message`` with the C encoder."""
    return f"E {describe(message, exact=True)}"


# --------------------------------------------------------------------------- vectors


def test_crc_check_value(driver):
    assert driver.run(["C 313233343536373839", "C -"]) == ["29b1", "ffff"]


def test_cobs_edge_cases_match_python(driver):
    run = bytes(range(1, 256))
    cases = [b"", b"\x00", bytes(300), run[:253], run[:254], run[:255], run[:254] + b"\x00",
             b"\x00" + run[:254], run * 4, (run[:254] + b"\x00") * 3, bytes(range(256)) * 5]
    encoded = driver.run([f"B {_hex(c)}" for c in cases])
    assert encoded == [cobs_encode(c).hex() for c in cases]
    decoded = driver.run([f"U {cobs_encode(c).hex()}" for c in cases])
    assert decoded == [c.hex() for c in cases]
    assert driver.run(["U 0503", "U 020002", "U -"]) == ["ERR cobs"] * 3


def test_c_encodes_every_vector_to_the_same_bytes(driver):
    messages = [message_from_json(v["message"]) for v in VECTORS["valid"]]
    assert driver.run([command(m) for m in messages]) == [v["frame"] for v in VECTORS["valid"]]


def test_c_decodes_every_vector(driver):
    events = driver.decode([bytes.fromhex(v["frame"]) for v in VECTORS["valid"]])
    assert events == [[f"OK {describe(message_from_json(v['message']))}"] for v in VECTORS["valid"]]


def test_c_rejects_invalid_vectors_for_the_same_reason(driver):
    events = driver.decode([bytes.fromhex(v["frame"]) for v in VECTORS["invalid"]])
    assert events == [[f"ERR {v['error']}"] for v in VECTORS["invalid"]]


def test_c_encoder_refuses_what_python_refuses(driver):
    refused = [
        "E log 1 5 41",                       # reserved level
        "E log 1 1 c328",                     # not UTF-8
        "E log 1 1 eda080",                   # UTF-16 surrogate
        "E log 1 1 " + "41" * 1024,           # text too long
        "E samples 1 0 0 0",                  # zero channels
        "E samples 1 1 0 511 " + "1 " * 511,  # more than 1020 value bytes
        "E config 1 1 - 41",                  # empty key
    ]
    assert driver.run(refused) == ["ERR arg"] * len(refused)


# --------------------------------------------------------------------------- random agreement


def test_random_messages_agree_both_ways(driver):
    rng = random.Random(7)
    messages = [random_message(rng) for _ in range(600)]
    frames = [encode(m) for m in messages]
    assert driver.run([command(m) for m in messages]) == [f.hex() for f in frames]
    assert driver.decode(frames) == [[f"OK {describe(m)}"] for m in messages]


def _python_events(stream: bytes) -> tuple[list[str], dict[str, int]]:
    decoder = FrameDecoder()
    ok = [f"OK {describe(m)}" for m in decoder.feed(stream)]
    counters = decoder.counters.as_dict()
    errors = {kind: counters[name] for kind, name in [
        ("cobs", "cobs_errors"), ("length", "length_errors"), ("oversize", "oversize"), ("crc", "crc_errors"),
        ("version", "version_errors"), ("type", "type_errors"), ("format", "format_errors")]}
    return ok, {k: v for k, v in errors.items() if v}


def test_c_reader_and_python_decoder_agree_on_noisy_streams(driver):
    rng = random.Random(11)
    pool = frame_pool(rng, 300)
    streams = [noisy_stream(rng, pool, parts=rng.randint(1, 12)).data for _ in range(8000)]
    streams += [rng.randbytes(rng.randint(0, 2500)) for _ in range(1000)]
    for stream, c_events in zip(streams, driver.decode(streams)):
        ok, errors = _python_events(stream)
        assert [e for e in c_events if e.startswith("OK")] == ok
        c_errors: dict[str, int] = {}
        for event in c_events:
            if event.startswith("ERR"):
                c_errors[event[4:]] = c_errors.get(event[4:], 0) + 1
        assert c_errors == errors, stream.hex()


def test_c_and_python_agree_on_crafted_payloads(driver):
    """Frames with valid CRC but random payloads exercise every payload check on both sides."""
    rng = random.Random(5)
    frames = []
    for _ in range(3000):
        body = bytes([1, rng.choice([1, 2, 3, 4, 5, 5, 6]), rng.randrange(256), rng.randrange(256)])
        body += _crafted_payload(rng, body[1])
        frames.append(cobs_encode(body + struct.pack("<H", crc16(body))) + b"\x00")
    for frame, c_events in zip(frames, driver.decode(frames)):
        ok, errors = _python_events(frame)
        assert [_apply_config(e) for e in c_events] == ok + [f"ERR {kind}" for kind in errors], frame.hex()


def _apply_config(event: str) -> str:
    """C reports config entries as sent; apply them in order (a repeated key wins) as Python does."""
    if not event.startswith("OK config"):
        return event
    _, _, seq, _, *cells = event.split()
    entries: dict[str, str] = {}
    for key, value in zip(cells[::2], cells[1::2]):
        entries.pop(key, None)
        entries[key] = value
    return " ".join(["OK config", seq, str(len(entries)), *(c for kv in entries.items() for c in kv)])


def _crafted_payload(rng: random.Random, type_byte: int) -> bytes:
    if type_byte == 1:
        channels, stype, count = rng.choice([0, 1, 2, 3]), rng.choice([0, 1, 2]), rng.randint(0, 4)
        size = count * channels * (2 if stype == 0 else 4) + rng.choice([0, 0, 0, -1, 1])
        return bytes([channels, stype]) + struct.pack("<H", count) + rng.randbytes(max(size, 0))
    if type_byte == 2:
        return bytes([rng.choice([0, 1, 2])]) + rng.randbytes(rng.choice([6, 7, 8, 9]) - 1)
    if type_byte == 3:
        return rng.randbytes(rng.choice([3, 4, 4, 5]))
    if type_byte == 4:
        text = rng.choice([b"ok", "é⚠🙂".encode(), b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80",
                           b"\xe0\x80\xaf", b"\xf0\x9f\x99", rng.randbytes(5)])
        return bytes([rng.choice([0, 4, 5])]) + text
    entries = [(rng.choice([b"k", b"", "é".encode(), b"\xff", b"rate"]), rng.choice([b"", b"1", b"\xc0\xaf"]))
               for _ in range(rng.randint(0, 3))]
    body = b"".join(bytes([len(k)]) + k + bytes([len(v)]) + v for k, v in entries)
    return bytes([len(entries) + rng.choice([0, 0, 0, 1, -1 if entries else 0])]) + body + rng.choice([b"", b"", b"x"])


def test_crafted_payloads_cover_every_format_check():
    """The crafted generator above does produce bad payloads of every type."""
    rng = random.Random(5)
    kinds = set()
    for _ in range(500):
        type_byte = rng.choice([1, 2, 3, 4, 5])
        body = bytes([1, type_byte, 0, 0]) + _crafted_payload(rng, type_byte)
        try:
            decode_frame(cobs_encode(body + struct.pack("<H", crc16(body))))
        except FrameError as exc:
            kinds.add((type_byte, exc.kind.value))
    assert {(t, "format") for t in range(1, 6)} <= kinds


def test_float_nan_payloads_survive_c(driver):
    values = np.array([[np.nan], [np.inf], [-0.0]], dtype=np.float32)
    message = Samples(9, 1, SampleType.FLOAT32, values)
    assert driver.run([command(message)]) == [encode(message).hex()]
    assert driver.decode([encode(message)]) == [[f"OK {describe(message)}"]]
    assert driver.decode([encode(Config(1, {"ключ": "значение"}))]) == [
        [f"OK {describe(Config(1, {'ключ': 'значение'}))}"]]
