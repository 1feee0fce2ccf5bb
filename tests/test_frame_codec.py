"""The serial frame protocol in Python: vectors, CRC, COBS, messages, streaming decoder, fuzz."""

from __future__ import annotations

import random
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.errors import DataError, EdgewatchError
from firmware_bridge import (
    MAX_ENCODED,
    MAX_FRAME,
    Config,
    FrameDecoder,
    FrameError,
    FrameErrorKind,
    Heartbeat,
    InferenceResult,
    LogLevel,
    LogLine,
    ResultKind,
    Samples,
    SampleType,
    cobs_decode,
    cobs_encode,
    crc16,
    decode_frame,
    encode,
)
from firmware_bridge.cobs import cobs_max_encoded_len
from firmware_bridge.testing import count_segments, frame_pool, noisy_stream, random_message
from firmware_bridge.vectors import VECTORS_PATH, load_vectors, message_from_json, render_vectors

VECTORS = load_vectors()


def crc16_bitwise(data: bytes) -> int:
    """Textbook CRC-16/CCITT-FALSE, bit by bit, independent of binascii."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


# --------------------------------------------------------------------------- CRC


def test_crc_check_value_is_ccitt_false():
    assert crc16(b"123456789") == 0x29B1
    assert crc16_bitwise(b"123456789") == 0x29B1


@given(st.binary(max_size=300))
@settings(max_examples=300, deadline=None, database=None)
def test_crc_matches_bitwise_reference(data):
    assert crc16(data) == crc16_bitwise(data)
    assert crc16(data[len(data) // 2:], crc16(data[:len(data) // 2])) == crc16(data)


# --------------------------------------------------------------------------- COBS

# Examples from the COBS article on Wikipedia (canonical encoder).
_RUN = bytes(range(1, 255))  # 01..FE, 254 non-zero bytes
WIKIPEDIA_COBS = [
    (b"\x00", b"\x01\x01"),
    (b"\x00\x00", b"\x01\x01\x01"),
    (b"\x00\x11\x00", b"\x01\x02\x11\x01"),
    (b"\x11\x22\x00\x33", b"\x03\x11\x22\x02\x33"),
    (b"\x11\x22\x33\x44", b"\x05\x11\x22\x33\x44"),
    (b"\x11\x00\x00\x00", b"\x02\x11\x01\x01\x01"),
    (_RUN, b"\xff" + _RUN),
    (b"\x00" + _RUN, b"\x01\xff" + _RUN),
    (_RUN + b"\xff", b"\xff" + _RUN + b"\x02\xff"),
    (_RUN[1:] + b"\xff\x00", b"\xff" + _RUN[1:] + b"\xff\x01\x01"),
    (_RUN[2:] + b"\xff\x00\x01", b"\xfe" + _RUN[2:] + b"\xff\x02\x01"),
]


@pytest.mark.parametrize(("raw", "encoded"), WIKIPEDIA_COBS)
def test_cobs_reference_examples(raw, encoded):
    assert cobs_encode(raw) == encoded
    assert cobs_decode(encoded) == raw


@pytest.mark.parametrize("length", [0, 1, 253, 254, 255, 256, 507, 508, 509, 1030])
@pytest.mark.parametrize("fill", [0x00, 0x01, 0xFF])
def test_cobs_runs_at_block_boundaries(length, fill):
    for raw in (bytes([fill]) * length, bytes([fill]) * length + b"\x00", b"\x00" + bytes([fill]) * length):
        encoded = cobs_encode(raw)
        assert 0 not in encoded
        assert len(encoded) <= cobs_max_encoded_len(len(raw))
        assert cobs_decode(encoded) == raw


def test_cobs_all_zeros_cost_one_byte_each():
    for n in range(0, 600, 37):
        assert cobs_encode(bytes(n)) == b"\x01" * (n + 1)
        assert cobs_decode(b"\x01" * (n + 1)) == bytes(n)


def test_cobs_decoder_accepts_a_trailing_empty_block_after_a_full_one():
    assert cobs_decode(b"\xff" + _RUN + b"\x01") == _RUN


@pytest.mark.parametrize("bad", [b"", b"\x05\x01\x02", b"\x02\x00", b"\x03\x11\x00\x01", b"\xff\x01"])
def test_cobs_decode_rejects_broken_blocks(bad):
    with pytest.raises(FrameError) as info:
        cobs_decode(bad)
    assert info.value.kind is FrameErrorKind.COBS


@given(st.binary(max_size=1200))
@settings(max_examples=300, deadline=None, database=None)
def test_cobs_round_trip(data):
    encoded = cobs_encode(data)
    assert 0 not in encoded and len(encoded) <= cobs_max_encoded_len(len(data))
    assert cobs_decode(encoded) == data


# --------------------------------------------------------------------------- vectors


def test_vector_file_is_up_to_date():
    assert VECTORS_PATH.read_text(encoding="utf-8") == render_vectors(), \
        "regenerate with: python -m firmware_bridge.vectors"


@pytest.mark.parametrize("vector", VECTORS["valid"], ids=lambda v: v["name"])
def test_valid_vector_is_byte_exact(vector):
    message, frame = message_from_json(vector["message"]), bytes.fromhex(vector["frame"])
    assert encode(message) == frame
    assert decode_frame(frame) == message
    assert decode_frame(frame[:-1]) == message  # the delimiter is optional for decode_frame


@pytest.mark.parametrize("vector", VECTORS["invalid"], ids=lambda v: v["name"])
def test_invalid_vector_is_rejected_for_its_reason(vector):
    with pytest.raises(FrameError) as info:
        decode_frame(bytes.fromhex(vector["frame"]))
    assert info.value.kind is FrameErrorKind(vector["error"])
    assert isinstance(info.value, DataError) and isinstance(info.value, EdgewatchError)


def test_heartbeat_layout_by_hand():
    body = bytes([1, 3, 0x34, 0x12]) + struct.pack("<I", 0xDEADBEEF)
    frame = cobs_encode(body + struct.pack("<H", crc16_bitwise(body))) + b"\x00"
    assert encode(Heartbeat(0x1234, 0xDEADBEEF)) == frame


def test_the_largest_frame_fits_the_documented_bound():
    largest = max(len(bytes.fromhex(v["frame"])) for v in VECTORS["valid"])
    assert largest == MAX_ENCODED + 1 == 1036


# --------------------------------------------------------------------------- messages


def test_float_fields_are_rounded_to_float32():
    result = InferenceResult.score_result(1, 0.1, 1 / 3)
    assert result.score == float(np.float32(0.1)) and result.threshold == float(np.float32(1 / 3))
    assert decode_frame(encode(result)) == result


def test_float_samples_keep_nan_and_inf():
    values = np.array([[np.nan, np.inf], [-np.inf, -0.0]], dtype=np.float32)
    decoded = decode_frame(encode(Samples(3, 2, SampleType.FLOAT32, values)))
    assert decoded == Samples(3, 2, SampleType.FLOAT32, values)
    assert np.signbit(decoded.values[1, 1]) and not decoded.values.flags.writeable


def test_one_channel_samples_accept_a_flat_list():
    assert Samples(0, 1, SampleType.INT16, [1, 2, 3]).values.shape == (3, 1)


@pytest.mark.parametrize("build", [
    lambda: Heartbeat(65536, 0),
    lambda: Heartbeat(-1, 0),
    lambda: Heartbeat(0, 2**32),
    lambda: Samples(0, 0, SampleType.INT16, np.zeros((1, 0))),
    lambda: Samples(0, 2, SampleType.INT16, [[1, 2, 3]]),
    lambda: Samples(0, 1, SampleType.INT16, [40000]),
    lambda: Samples(0, 1, SampleType.INT16, [1.5]),
    lambda: Samples(0, 1, SampleType.INT16, np.zeros(511, dtype=np.int16)),
    lambda: Samples(0, 1, SampleType.FLOAT32, np.zeros(256)),
    lambda: Samples(0, 1, 7, [1]),
    lambda: InferenceResult(0, ResultKind.LABEL, label=1),
    lambda: InferenceResult(0, ResultKind.SCORE, score=1.0, threshold=1.0, label=2),
    lambda: InferenceResult.label_result(0, 70000, 0.5),
    lambda: InferenceResult.score_result(0, 1e40, 0.5),
    lambda: LogLine(0, 9, "x"),
    lambda: LogLine(0, LogLevel.INFO, "x" * 1024),
    lambda: LogLine(0, LogLevel.INFO, "\ud800"),
    lambda: Config(0, {"": "x"}),
    lambda: Config(0, {"k" * 256: "x"}),
    lambda: Config(0, {"k": "v" * 256}),
    lambda: Config(0, {f"k{i}": "v" * 200 for i in range(6)}),
])
def test_out_of_range_messages_are_refused(build):
    with pytest.raises(DataError):
        build()


def test_largest_log_line_fits():
    line = LogLine(1, LogLevel.WARNING, "é" * 511 + "x")  # 1023 UTF-8 bytes
    assert decode_frame(encode(line)) == line


def test_repeated_config_key_keeps_the_last_value():
    body = bytes([1, 5, 0, 0, 2, 1]) + b"a" + bytes([1]) + b"1" + bytes([1]) + b"a" + bytes([1]) + b"2"
    frame = cobs_encode(body + struct.pack("<H", crc16(body)))
    assert decode_frame(frame) == Config(0, {"a": "2"})


@st.composite
def messages(draw):
    return random_message(random.Random(draw(st.integers(0, 2**64))))


@given(messages())
@settings(max_examples=500, deadline=None, database=None)
def test_every_message_round_trips(message):
    frame = encode(message)
    assert frame.index(0) == len(frame) - 1 <= MAX_ENCODED
    assert decode_frame(frame) == message


# --------------------------------------------------------------------------- streaming decoder

POOL = frame_pool(random.Random(2024), 400)
HB = [encode(Heartbeat(seq, 1000 * seq)) for seq in range(10)]


def test_frames_back_to_back_and_empty_frames():
    decoder = FrameDecoder()
    got = decoder.feed(b"\x00\x00" + HB[0] + b"\x00" + HB[1] + HB[2])
    assert [m.seq for m in got] == [0, 1, 2]
    assert decoder.counters.frames_ok == 3 and decoder.counters.frames_bad == 0


def test_garbage_before_a_frame_costs_one_counted_frame():
    decoder = FrameDecoder()
    got = decoder.feed(b"\x13\x37\xfe" + b"\x00" + HB[0])
    assert got == [Heartbeat(0, 0)]
    assert decoder.counters.frames_bad == 1


def test_truncated_frame_swallows_the_next_frame_unless_a_delimiter_follows():
    decoder = FrameDecoder()
    assert decoder.feed(HB[0][:5] + HB[1] + HB[2]) == [Heartbeat(2, 2000)]
    assert decoder.counters.frames_bad == 1
    assert decoder.feed(HB[3][:5] + b"\x00" + HB[4]) == [Heartbeat(4, 4000)]
    assert decoder.counters.frames_bad == 2
    assert decoder.counters.messages_lost == 1  # seq 3; 0 and 1 came before the first good frame


def test_bad_crc_is_counted_and_skipped():
    bad = bytearray(HB[1])
    bad[3] ^= 0x01
    decoder = FrameDecoder()
    assert [m.seq for m in decoder.feed(HB[0] + bytes(bad) + HB[2])] == [0, 2]
    assert decoder.counters.crc_errors == 1 and decoder.counters.messages_lost == 1


@pytest.mark.parametrize("vector", VECTORS["invalid"], ids=lambda v: v["name"])
def test_each_error_kind_has_its_counter(vector):
    decoder = FrameDecoder()
    assert decoder.feed(bytes.fromhex(vector["frame"]) + HB[0]) == [Heartbeat(0, 0)]
    counters = decoder.counters.as_dict()
    name = {"cobs": "cobs_errors", "length": "length_errors", "oversize": "oversize", "crc": "crc_errors",
            "version": "version_errors", "type": "type_errors", "format": "format_errors"}[vector["error"]]
    assert counters[name] == 1 and decoder.counters.frames_bad == 1


def test_over_long_frame_is_dropped_without_buffering_it():
    decoder = FrameDecoder()
    for _ in range(50):
        assert decoder.feed(b"\x55" * 997) == []
        assert decoder.pending <= MAX_ENCODED
    assert decoder.feed(b"\x55\x00" + HB[0]) == [Heartbeat(0, 0)]
    assert decoder.counters.oversize == 1 and decoder.counters.frames_bad == 1


def test_largest_legal_frame_is_not_oversize():
    frame = max((f for f, _ in POOL), key=len)
    assert len(frame) > MAX_FRAME
    decoder = FrameDecoder()
    assert len(decoder.feed(frame)) == 1 and decoder.counters.oversize == 0


@pytest.mark.parametrize(("seqs", "lost", "resets"), [
    ([0, 1, 2, 3], 0, 0),
    ([0, 1, 5], 3, 0),
    ([65534, 65535, 0, 1], 0, 0),
    ([65535, 2], 2, 0),
    ([10, 3], 0, 1),
    ([7, 7], 0, 1),
    ([0, 40000], 0, 1),
])
def test_sequence_gaps(seqs, lost, resets):
    decoder = FrameDecoder()
    decoder.feed(b"".join(encode(Heartbeat(s, 0)) for s in seqs))
    assert (decoder.counters.messages_lost, decoder.counters.seq_resets) == (lost, resets)


def test_reset_forgets_the_partial_frame_and_sequence():
    decoder = FrameDecoder()
    decoder.feed(HB[5] + HB[0][:4])
    decoder.reset()
    assert decoder.pending == 0
    assert decoder.feed(HB[1]) == [Heartbeat(1, 1000)]
    assert decoder.counters.messages_lost == 0 and decoder.counters.frames_bad == 0


# --------------------------------------------------------------------------- fuzz


def expected_seq_effects(seqs: list[int]) -> tuple[int, int]:
    lost = resets = 0
    for prev, seq in zip(seqs, seqs[1:]):
        step = (seq - prev) % 65536
        lost, resets = (lost + step - 1, resets) if 1 <= step <= 32768 else (lost, resets + 1)
    return lost, resets


def check_stream(data: bytes, recoverable: list, rng: random.Random | None = None) -> None:
    """Feed ``data`` (in random chunks if ``rng``) and check every decoder invariant."""
    decoder, got, pos = FrameDecoder(), [], 0
    while pos < len(data):
        step = len(data) if rng is None else rng.choice((1, 7, 64, 1500, len(data)))
        got += decoder.feed(data[pos:pos + step])
        pos += step
        assert decoder.pending <= MAX_ENCODED
    got += decoder.feed(b"\x00")
    counters = decoder.counters
    assert counters.frames_ok == len(got)
    assert counters.frames_ok + counters.frames_bad == count_segments(data + b"\x00")
    assert (counters.messages_lost, counters.seq_resets) == expected_seq_effects([m.seq for m in got])
    remaining = iter(got)
    assert all(any(want == have for have in remaining) for want in recoverable), "a valid frame was lost"


FUZZ_STREAMS_PER_EXAMPLE = 500
FUZZ_EXAMPLES = 200  # 200 x 500 = 100,000 noisy streams


def test_fuzz_100k_noisy_streams():
    """Hypothesis draws seeds; each seed replays 500 spliced/damaged streams through the decoder."""
    streams = []

    @settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(st.integers(0, 2**64))
    def run(seed):
        rng = random.Random(seed)
        for index in range(FUZZ_STREAMS_PER_EXAMPLE):
            if index % 5 == 0:
                data, recoverable = rng.randbytes(rng.randint(0, 3000)), []  # pure noise
            else:
                stream = noisy_stream(rng, POOL, parts=rng.randint(1, 12))
                data, recoverable = stream.data, stream.recoverable
            check_stream(data, recoverable, rng if index % 10 == 1 else None)
            streams.append(1)

    run()
    assert len(streams) >= 100_000


_piece = st.one_of(
    st.sampled_from([f for f, _ in POOL[:50]]),
    st.binary(max_size=40),
    st.builds(lambda f, cut: f[:max(1, cut % len(f))], st.sampled_from([f for f, _ in POOL[:50]]),
              st.integers(0, 2000)),
    st.just(b"\x00"),
    st.just(b"\x7f" * 1100),
)


@given(st.lists(_piece, max_size=10), st.randoms(use_true_random=False))
@settings(max_examples=1500, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
def test_fuzz_hypothesis_streams(pieces, rng):
    """Hypothesis-built streams (they shrink): no crash, counters add up, intact frames survive."""
    data, recoverable = b"", []
    frames = {f: m for f, m in POOL[:50]}
    for piece in pieces:
        if piece in frames and (not data or data.endswith(b"\x00")):
            recoverable.append(frames[piece])
        data += piece
    check_stream(data, recoverable, rng)
