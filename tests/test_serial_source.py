"""The serial source against a real pseudo-terminal fed by a simulated MCU process (the ``uart``
fixture: ``tests/serial_fixtures.py``'s ``FakeUart``).
"""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("serial", reason="pyserial missing: pip install 'edgewatch[serial]'")

from edge.errors import ConfigError, MissingDependencyError, SourceError  # noqa: E402
from edge.sources import open_source  # noqa: E402
from edge.sources.serial import parse_serial_spec  # noqa: E402
from firmware_bridge import Samples, SampleType, cobs_encode, crc16, encode  # noqa: E402
from serial_fixtures import stream_rows, wait_for_message  # noqa: E402

COLUMNS = ("temperature", "vibration_rms", "current", "pressure")
DOCS = Path(__file__).resolve().parent.parent / "docs"

class Reader:
    """Drains ``source.chunks()`` on a thread, keeping every row and bad row."""

    def __init__(self, source) -> None:
        self.source, self.chunks, self.error = source, [], None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            for chunk in self.source.chunks():
                self.chunks.append(chunk)
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            self.error = exc

    @property
    def rows(self) -> int:
        return sum(len(c.values) for c in list(self.chunks))

    def values(self) -> np.ndarray:
        return np.concatenate([c.values for c in self.chunks]) if self.chunks else np.empty((0, len(COLUMNS)))

    def bad(self) -> list:
        return [b for c in self.chunks for b in c.bad_rows]

    def wait_rows(self, n: int, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while self.rows < n and time.monotonic() < deadline and self.thread.is_alive():
            time.sleep(0.01)
        assert self.rows == n, f"{self.rows} of {n} rows; error {self.error!r}; stats {self.source.stats()}"

    def stop(self) -> float:
        """Close the source from this (another) thread; returns how long chunks() took to end."""
        began = time.monotonic()
        self.source.close()
        self.thread.join(2.0)
        assert not self.thread.is_alive(), "chunks() did not end after close()"
        return time.monotonic() - began


def row(i: int) -> list[float]:
    return [i, i + 0.25, i + 0.5, -i]


def frame(seq: int, rows: list[list[float]]) -> bytes:
    return encode(Samples(seq % 65536, len(COLUMNS), SampleType.FLOAT32, rows))


def bad_crc_frame(seq: int) -> bytes:
    """A samples frame whose CRC is off by one bit: one crc error, and its seq is consumed."""
    body = struct.pack("<BBH", 1, 1, seq) + struct.pack("<BBH", 4, 1, 1) + np.zeros(4, "<f4").tobytes()
    return cobs_encode(body + struct.pack("<H", crc16(body) ^ 0x0100)) + b"\x00"


def test_frames_at_1khz_arrive_complete_in_order_and_close_ends_promptly(uart):
    count = 3000
    source = open_source(f"serial:{uart.link}?format=frames", COLUMNS)
    reader = Reader(source)
    began, cpu0 = time.monotonic(), time.process_time()
    sim = uart.send([b"\x00"] + [frame(i, [row(i)]) for i in range(count)], rate=1000)
    assert sim.wait(15) == 0
    reader.wait_rows(count)
    wall, cpu = time.monotonic() - began, time.process_time() - cpu0
    stats = source.stats()
    assert reader.stop() < 0.5
    np.testing.assert_array_equal(reader.values(), np.array([row(i) for i in range(count)], np.float32))
    times = np.concatenate([c.times for c in reader.chunks])
    assert np.all(np.diff(times) >= 0) and abs(times[-1] - time.time()) < 5
    assert (stats["frames_ok"], stats["frames_bad"], stats["messages_lost"], stats["samples"]) == (count, 0, 0, count)
    assert stats["connected"] and stats["reconnects"] == 0
    print(f"\n{count} frames in {wall:.2f} s = {count / wall:.0f} frames/s, reader CPU {100 * cpu / wall:.1f}% "
          f"in {len(reader.chunks)} chunks")


def test_garbage_and_dropped_sequence_numbers_are_counted_exactly(uart):
    pieces, expected, seq = [b"\x00"], [], 0
    dropped = crc = cobs = version = 0
    for i in range(1500):
        fault = i % 100 if i % 100 < 5 and i >= 100 else None
        if fault == 0:
            seq, dropped = seq + 7, dropped + 7  # 7 messages the MCU never sent
        elif fault == 1:
            pieces.append(bad_crc_frame(seq))
            seq, crc = seq + 1, crc + 1
        elif fault == 2:
            pieces.append(b"\x07\x01\x02\x00")  # a code byte promising 6 bytes, 2 given
            cobs += 1
        elif fault == 3:
            pieces.append(b"\xff" * 3 + b"\x00")  # line noise
            cobs += 1
        elif fault == 4:
            body = struct.pack("<BBHI", 2, 3, seq, 42)  # intact heartbeat of protocol version 2
            pieces.append(cobs_encode(body + struct.pack("<H", crc16(body))) + b"\x00")
            seq, version = seq + 1, version + 1
        pieces.append(frame(seq, [row(i)]))
        expected.append(row(i))
        seq += 1
    source = open_source(f"serial:{uart.link}", COLUMNS)
    reader = Reader(source)
    assert uart.send(pieces, rate=1000).wait(15) == 0
    reader.wait_rows(len(expected))
    stats = source.stats()
    reader.stop()
    np.testing.assert_array_equal(reader.values(), np.array(expected, np.float32))
    assert (crc, cobs, version, dropped) == (14, 28, 14, 98)
    assert stats["crc_errors"] == crc and stats["cobs_errors"] == cobs and stats["version_errors"] == version
    assert stats["frames_bad"] == crc + cobs + version
    assert stats["messages_lost"] == dropped + crc + version  # bad frames that used a seq count as lost too
    assert stats["frames_ok"] == len(expected) and stats["seq_resets"] == 0


@pytest.mark.parametrize("rate, count", [(100, 150), (1000, 1500)])
def test_lines_at_100hz_and_1khz(uart, rate, count):
    seps = [",", " ", "\t", ", "]
    pieces, expected, bad_lines = [], [], []
    for i in range(count):
        if i % 50 == 10:
            pieces.append(b"abc,1,2,3\n")
            bad_lines.append("not a number")
        elif i % 50 == 20:
            pieces.append(b"1,2,3\r\n")
            bad_lines.append("3 value(s), expected 4")
        elif i % 50 == 30:
            pieces.append(b"\n")  # blank lines are skipped, not bad
        else:
            ending = "\r\n" if i % 2 else "\n"
            pieces.append((seps[i % 4].join(repr(v) for v in row(i)) + ending).encode())
            expected.append(row(i))
    source = open_source(f"serial:{uart.link}?format=lines&baud=9600", COLUMNS)
    reader = Reader(source)
    assert uart.send(pieces, rate=rate).wait(15) == 0
    reader.wait_rows(len(expected))
    time.sleep(0.05)
    stats = source.stats()
    reader.stop()
    np.testing.assert_array_equal(reader.values(), np.array(expected, np.float32))
    bad = reader.bad()
    assert [b.reason.split(" in ")[0] for b in bad] == bad_lines
    assert stats["bad_lines"] == len(bad_lines) and stats["samples"] == len(expected)
    assert bad[0].line == 11  # line numbers count non-blank lines since the port opened


def test_unplug_and_replug_reconnects_without_losing_frames(uart):
    source = open_source(f"serial:{uart.link}?reconnect=10", COLUMNS)
    reader = Reader(source)
    assert uart.send([b"\x00"] + [frame(i, [row(i)]) for i in range(500)], rate=1000).wait(10) == 0
    reader.wait_rows(500)
    uart.unplug()
    time.sleep(0.3)  # the port is gone for a while
    assert not source.stats()["connected"] and reader.thread.is_alive()
    uart.plug()
    deadline = time.monotonic() + 5
    while not source.stats()["connected"] and time.monotonic() < deadline:
        time.sleep(0.01)
    stats = source.stats()
    assert stats["connected"] and stats["reconnects"] == 1 and stats["last_error"]
    assert uart.send([b"\x00"] + [frame(i, [row(i)]) for i in range(500, 1000)], rate=1000).wait(10) == 0
    reader.wait_rows(1000)
    stats = source.stats()
    reader.stop()
    np.testing.assert_array_equal(reader.values(), np.array([row(i) for i in range(1000)], np.float32))
    assert (stats["frames_ok"], stats["frames_bad"], stats["messages_lost"], stats["reconnects"]) == (1000, 0, 0, 1)


def test_a_port_that_stays_gone_ends_the_stream_with_a_clear_error(uart):
    source = open_source(f"serial:{uart.link}?reconnect=0.3", COLUMNS)
    reader = Reader(source)
    time.sleep(0.05)
    began = time.monotonic()
    uart.unplug()
    reader.thread.join(3)
    assert not reader.thread.is_alive() and time.monotonic() - began < 1.5
    assert isinstance(reader.error, SourceError)
    message = str(reader.error)
    assert str(uart.link) in message and "could not be reopened within 0.3 s" in message


def test_wrong_channel_count_is_one_clear_error(uart):
    source = open_source(f"serial:{uart.link}", COLUMNS)
    reader = Reader(source)
    assert uart.send([encode(Samples(0, 3, SampleType.INT16, [[1, 2, 3]]))], rate=100).wait(5) == 0
    reader.thread.join(3)
    assert isinstance(reader.error, SourceError), reader.error
    assert "sends 3 channel(s) per sample but the bundle expects 4 (temperature, vibration_rms" in str(reader.error)
    source.close()


@pytest.mark.parametrize("arg, words", [
    ("", "needs a port"), ("/dev/x?format=csv", "frames or lines"), ("/dev/x?baud=fast", "baud must be"),
    ("/dev/x?bps=9600", "unknown option(s) bps"), ("/dev/x?reconnect=-1", "reconnect a finite"),
])
def test_bad_specs_are_config_errors(arg, words):
    with pytest.raises(ConfigError, match=None) as info:
        parse_serial_spec(arg)
    assert words in str(info.value)


def test_spec_defaults_and_missing_port(tmp_path):
    assert parse_serial_spec("COM3") == parse_serial_spec("COM3?baud=115200&format=frames&reconnect=30")
    with pytest.raises(SourceError, match="cannot open serial port .*nope.*dialout"):
        open_source(f"serial:{tmp_path / 'nope'}", COLUMNS)


def test_missing_pyserial_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "serial", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'edgewatch\[serial\]'"):
        open_source(f"serial:{tmp_path / 'x'}", COLUMNS)


# ----------------------------------------------------------------------------------------------
# edge-infer end to end: a serial source never ends, so the run is stopped by SIGTERM, which
# edge-infer turns into pipeline.stop(): the open event gets its end alert and the exit code is 0.
# ----------------------------------------------------------------------------------------------

def test_edge_infer_reads_a_serial_source_until_sigterm(trained_bundle, mqtt_broker, mqtt_collector, uart, tmp_path):
    import jsonschema

    from edge.alerts import Alert
    from edge.bundle import load_bundle

    columns = load_bundle(trained_bundle.bundle).input.columns
    assert tuple(columns) == COLUMNS
    rows = stream_rows(trained_bundle.data.stream_csv, columns, 2200, 2700)  # cavitation at 2400-2520
    pieces = [b"\x00"] + [frame(i, [list(map(float, r))]) for i, r in enumerate(rows)]
    schema = json.loads((DOCS / "alert.schema.json").read_text())
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    with mqtt_collector(mqtt_broker, "edgewatch/serial-e2e/#") as got:
        infer = subprocess.Popen(
            [sys.executable, "-m", "edgewatch.infer", "--bundle", str(trained_bundle.bundle), "--source",
             f"serial:{uart.link}?format=frames", "--mqtt", mqtt_broker.url, "--device-id", "serial-e2e",
             "--outbox", str(tmp_path / "outbox.sqlite"), "--quiet"],
            stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        try:
            wait_for_message(got, lambda m: m.topic.endswith("/availability") and m.text == "online", 30)  # port is open
            uart.send(pieces, rate=1000, loop=True)
            wait_for_message(got, lambda m: m.topic.endswith("/alerts") and b'"type":"start"' in m.payload, 20)
            infer.send_signal(signal.SIGTERM)
            _, stderr = infer.communicate(timeout=15)
        finally:
            if infer.poll() is None:
                infer.kill()
        assert infer.returncode == 0, stderr
        wait_for_message(got, lambda m: m.topic.endswith("/alerts") and b'"type":"end"' in m.payload, 5)
        alerts = [m for m in got.messages if m.topic.endswith("/alerts")]
    for message in alerts:
        jsonschema.validate(json.loads(message.payload), schema)
    parsed = [Alert.from_json(m.payload) for m in alerts]
    assert {a.source for a in parsed} == {f"serial:{uart.link}"}
    assert parsed[0].type == "start" and parsed[-1].type == "end" and parsed[-1].event_id == parsed[0].event_id
    assert parsed[0].time_start is not None  # arrival times
    assert "rows " in stderr and f"alert messages delivered {len(alerts)}/{len(alerts)}" in stderr


def test_a_port_held_by_another_source_is_refused(uart):
    first = open_source(f"serial:{uart.link}", COLUMNS)
    try:
        with pytest.raises(SourceError, match="no other program holds it"):
            open_source(f"serial:{uart.link}", COLUMNS)
    finally:
        first.close()


class _SlowScorer:
    """Seam: the real scorer, made deliberately slow (a worker that cannot keep up)."""

    def __init__(self, scorer, delay: float) -> None:
        self.scorer, self.delay = scorer, delay

    def __call__(self, values):
        time.sleep(self.delay)
        return self.scorer(values)


def test_a_slow_worker_never_blocks_the_port_and_every_dropped_sample_is_counted(trained_bundle, uart):
    """1 kHz lines into a pipeline whose worker takes 20 ms per window: the port is drained at line
    rate, and rows scored + rows dropped (overflows) == rows sent, exactly."""
    import dataclasses
    import io

    from edge.bundle import load_bundle
    from edge.model import load_model
    from edge.pipeline import Pipeline, RunConfig
    from edge.sinks import JsonLinesSink

    bundle = load_bundle(trained_bundle.bundle)
    model = load_model(bundle)
    slow = dataclasses.replace(model, scorer=_SlowScorer(model.scorer, 0.02))
    count = 3000
    pieces = [(",".join(repr(v) for v in row(i)) + "\n").encode() for i in range(count)]
    source = open_source(f"serial:{uart.link}?format=lines", COLUMNS)
    config = RunConfig("slow", bundle.decision(bundle.variant()), queue_chunks=8, publish_status_every=3600)
    sink = JsonLinesSink(io.StringIO())
    sink.open()
    pipeline = Pipeline(slow, source, sink, config)
    summary = []
    runner = threading.Thread(target=lambda: summary.append(pipeline.run()), daemon=True)
    runner.start()
    began = time.monotonic()
    assert uart.send(pieces, rate=1000).wait(30) == 0
    sent_in = time.monotonic() - began
    deadline = time.monotonic() + 10
    while source.stats()["samples"] < count and time.monotonic() < deadline:
        time.sleep(0.02)
    pipeline.stop()
    runner.join(30)
    model.close()
    c = pipeline.counters
    assert summary, "the pipeline did not end cleanly"
    assert source.stats()["samples"] == count and source.stats()["bad_lines"] == 0
    assert c.overflows > 0, "the worker was meant to fall behind"
    assert c.rows + c.overflows == count, (c.rows, c.overflows)
    assert sent_in < count / 1000 * 1.5  # the writer was never held back by the slow worker
