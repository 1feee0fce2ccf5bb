"""Sources benchmark: CPU per live audio stream, camera feature rate, lossless serial at 1 kHz.

One run prints, each against a baseline measured in the same run:

- audio: process CPU per second of 16 kHz audio through the device path (streaming MFCC,
  1 s windows every 250 ms, a small MFCC + LSTM classifier on LiteRT), as % of one core and
  streams per core; baseline: recomputing each window's MFCC with librosa. Also the same path
  fed live by PortAudio from a PulseAudio virtual microphone at 44.1 kHz (resampling included).
- camera: 160x120 grey frame features per CPU-second, decode included, on one OpenCV thread;
  baseline: OpenCV's own cvtColor + resize(INTER_AREA).
- serial: 1 kHz numeric lines through a pty into the serial source (every line must arrive;
  CPU against a readline() loop), then the same into a pipeline whose worker is deliberately
  slow: rows scored + rows dropped must equal rows sent.

Targets (issue 4): audio <= 1 % of one core per stream; camera >= 30 frames/s; serial lossless
with exact overflow counts. About 1.5 minutes; needs the dev, convert, audio and camera extras.

    .venv/bin/python benchmarks/sources.py [--seconds 60] [--json out.json]
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from edge.backends.litert import LiteRTBackend  # noqa: E402
from edge.features import FrameSpec, MfccSpec  # noqa: E402
from edge.window import SlidingWindow  # noqa: E402

AUDIO_RATE, WINDOW_FRAMES, HOP_FRAMES = 16000, 98, 25  # 1 s of 10 ms MFCC frames, every 250 ms


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="seconds of audio per figure (default 60)")
    parser.add_argument("--live-seconds", type=float, default=10.0, help="seconds of live microphone (default 10)")
    parser.add_argument("--frames", type=int, default=300, help="video frames to decode (default 300)")
    parser.add_argument("--lines", type=int, default=5000, help="serial lines at 1 kHz (default 5000)")
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    return parser.parse_args(argv)


# -- audio ---------------------------------------------------------------------------------------


def build_classifier(root: Path, spec: MfccSpec) -> Path:
    """A keyword-sized MFCC + LSTM classifier (tf_keras, batch 1, fused LSTM), as TFLite FP32."""
    from convert import _deps

    k, tf = _deps.tf_keras(), _deps.tensorflow()
    inputs = k.Input(shape=(WINDOW_FRAMES, spec.dims), batch_size=1)
    hidden = k.layers.LSTM(32)(inputs)
    outputs = k.layers.Dense(4, activation="softmax")(k.layers.Dense(16, activation="relu")(hidden))
    model = k.Model(inputs, outputs)
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    path = root / "kws.tflite"
    path.write_bytes(converter.convert())
    return path


def audio_signal(seconds: float, rate: int = AUDIO_RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    noise = np.random.default_rng(0).standard_normal(len(t))
    return (0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * noise).astype(np.float32)[:, None]


def device_path_cpu(backend: LiteRTBackend, spec: MfccSpec, audio: np.ndarray, block: int) -> tuple[float, int]:
    """CPU seconds for ``audio`` through streaming MFCC -> windows -> LiteRT, in blocks of ``block``."""
    features, windows = spec.extractor(), SlidingWindow(WINDOW_FRAMES, HOP_FRAMES, spec.dims)
    count = 0
    began = time.process_time()
    for start in range(0, len(audio), block):
        frames, times = features.push(audio[start:start + block])
        for window in windows.push(frames, times):
            backend.run(window.values[None])
            count += 1
    return time.process_time() - began, count


def librosa_baseline_cpu(backend: LiteRTBackend, spec: MfccSpec, audio: np.ndarray) -> tuple[float, int]:
    """The common way: every hop, MFCC of the whole last second again (librosa), then the model."""
    import librosa

    samples, hop, count = audio[:, 0], HOP_FRAMES * spec.hop_length, 0
    span = spec.n_fft + (WINDOW_FRAMES - 1) * spec.hop_length
    began = time.process_time()
    for end in range(span, len(samples) + 1, hop):
        mfcc = librosa.feature.mfcc(y=samples[end - span:end], sr=AUDIO_RATE, n_mfcc=spec.n_mfcc, n_fft=spec.n_fft,
                                    win_length=spec.win_length, hop_length=spec.hop_length, n_mels=spec.n_mels,
                                    fmin=spec.fmin, fmax=spec.fmax, center=False)
        backend.run(mfcc.T[None].astype(np.float32))
        count += 1
    return time.process_time() - began, count


def live_microphone_cpu(model: Path, spec: MfccSpec, seconds: float, open_at: float | None) -> dict:
    """The same path fed by PortAudio from a PulseAudio virtual microphone running at 44.1 kHz.

    ``open_at`` None opens the device at its own rate (our resampler converts); 16000 asks
    PortAudio for 16 kHz (PulseAudio resamples in its own process, not counted here).
    """
    from edgewatch.virtual_mic import VirtualMic, pulseaudio_missing

    if pulseaudio_missing():
        return {"skipped": pulseaudio_missing()}
    with tempfile.TemporaryDirectory() as tmp, VirtualMic() as mic:
        os.environ["PULSE_SERVER"] = mic.server
        from edge.sources import open_source

        wav = Path(tmp) / "hum.wav"
        _write_wav(wav, audio_signal(seconds + 5, 44100), 44100)
        player = mic.play(wav)
        spec_text = "mic" if open_at is None else f"mic?rate={open_at:g}"
        source = open_source(spec_text, ["audio"], sample_rate=AUDIO_RATE, media="audio")
        backend = LiteRTBackend(model)
        features, windows = spec.extractor(), SlidingWindow(WINDOW_FRAMES, HOP_FRAMES, spec.dims)
        chunks = source.chunks()
        next(chunks)  # the stream runs (first block after 0.6-1.9 s): start the clocks now
        cpu0, wall0, count = time.process_time(), time.monotonic(), 0
        for chunk in chunks:
            frames, times = features.push(chunk.values, chunk.times)
            for window in windows.push(frames, times):
                backend.run(window.values[None])
                count += 1
            if time.monotonic() - wall0 >= seconds:
                break
        cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
        stats = source.stats()
        source.close()
        player.terminate()
        player.wait()
    return {"cpu_percent": 100 * cpu / wall, "wall_s": wall, "windows": count, "native_rate": stats["native_rate"],
            "overflows": stats["overflows"], "dropped_frames": stats["dropped_frames"]}


def _write_wav(path: Path, audio: np.ndarray, rate: int) -> None:
    import wave

    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((np.clip(audio[:, 0], -1, 1) * 32767).astype("<i2").tobytes())


def bench_audio(root: Path, seconds: float, live_seconds: float) -> dict:
    spec = MfccSpec()
    model = build_classifier(root, spec)
    backend = LiteRTBackend(model)
    audio = audio_signal(seconds)
    device_path_cpu(backend, spec, audio[:AUDIO_RATE * 2], 1600)  # warm-up
    ours, windows = device_path_cpu(backend, spec, audio, 1600)  # 100 ms blocks, as a sound card gives them
    baseline, base_windows = librosa_baseline_cpu(backend, spec, audio)
    model_only = time.process_time()
    window = np.zeros((1, WINDOW_FRAMES, spec.dims), np.float32)
    for _ in range(windows):
        backend.run(window)
    model_only = time.process_time() - model_only
    result = {"audio_s": seconds, "windows": windows, "cpu_percent_per_stream": 100 * ours / seconds,
              "streams_per_core": seconds / ours, "model_percent": 100 * model_only / seconds,
              "baseline_librosa_percent": 100 * baseline / seconds, "baseline_windows": base_windows,
              "speedup_vs_baseline": baseline / ours}
    result["live"] = live_microphone_cpu(model, spec, live_seconds, None)
    result["live_16k"] = live_microphone_cpu(model, spec, live_seconds, 16000.0)
    return result


# -- camera --------------------------------------------------------------------------------------


def bench_camera(root: Path, frames: int) -> dict:
    import cv2

    cv2.setNumThreads(1)
    clip = root / "clip.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (640, 480))
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)
    for i in range(frames):
        writer.write(np.roll(base, 8 * i, axis=1))
    writer.release()
    from edge.sources import open_source

    def run(transform) -> tuple[float, int]:
        source = open_source(f"file:{clip}", ["frame"], sample_rate=None, media="video")
        began, count = time.process_time(), 0
        for chunk in source.chunks():
            transform(chunk.values)
            count += 1
        return time.process_time() - began, count

    spec = FrameSpec(width=160, height=120)
    extractor = spec.extractor()
    decode_cpu, n = run(lambda frames: None)
    ours_cpu, _ = run(lambda frames: extractor.push(frames))
    cv_cpu, _ = run(lambda frames: cv2.resize(cv2.cvtColor(frames[0], cv2.COLOR_BGR2GRAY), (160, 120),
                                              interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0)
    return {"frames": n, "source": "640x480 MJPG", "fps_decode_only": n / decode_cpu,
            "fps_decode_and_features": n / ours_cpu, "fps_decode_and_opencv_baseline": n / cv_cpu,
            "features_ms_per_frame": 1000 * (ours_cpu - decode_cpu) / n,
            "opencv_ms_per_frame": 1000 * (cv_cpu - decode_cpu) / n}


# -- serial --------------------------------------------------------------------------------------

WRITER = r"""
import os, sys, time
fd, count = int(sys.argv[1]), int(sys.argv[2])
lines = [("%d,%d.25,%d.5,%d\n" % (i, i, i, -i)).encode() for i in range(count)]
t0 = time.monotonic()
for i, line in enumerate(lines):
    delay = t0 + i / 1000.0 - time.monotonic()
    if delay > 0:
        time.sleep(delay)
    os.write(fd, line)
"""


def _pty_pair():
    import pty
    import tty

    master, slave = pty.openpty()
    tty.setraw(slave)
    name = os.ttyname(slave)
    os.close(slave)
    return master, name


def _writer(master: int, count: int):
    import subprocess

    return subprocess.Popen([sys.executable, "-c", WRITER, str(master), str(count)], pass_fds=(master,))


def bench_serial(lines: int) -> dict:
    import serial

    from edge.sources import open_source

    master, name = _pty_pair()
    source = open_source(f"serial:{name}?format=lines", ["a", "b", "c", "d"])
    writer, received, began = _writer(master, lines), 0, time.process_time()
    for chunk in source.chunks():
        received += len(chunk.values)
        if received >= lines:
            break
    ours = time.process_time() - began
    writer.wait()
    source.close()
    port = serial.Serial(name, timeout=0.5)
    writer, count, began = _writer(master, lines), 0, time.process_time()
    while count < lines and port.readline():
        count += 1
    readline_cpu = time.process_time() - began
    writer.wait()
    port.close()
    slow = _slow_consumer(master, name, lines)
    os.close(master)
    return {"lines": lines, "received": received, "lost": lines - received,
            "cpu_percent_source": 100 * ours / (lines / 1000), "cpu_percent_readline": 100 * readline_cpu / (lines / 1000),
            "readline_cpu_ratio": readline_cpu / ours if ours else None, **slow}


def slow_model(seconds_per_window: float):
    """A model whose scoring takes ``seconds_per_window``: the deliberately slow consumer (60-row windows)."""
    from edge.bundle import Bundle, InputSpec, Variant
    from edge.model import LoadedModel
    from edge.scaler import StandardScaler

    def score(values: np.ndarray) -> float:
        time.sleep(seconds_per_window)
        return float(np.mean(values))

    spec = InputSpec(60, 6, ("a", "b", "c", "d"), 1000.0)
    variant = Variant("sleep", Path("none"), "none", "none", {})
    bundle = Bundle(Path("."), "slow", spec, StandardScaler((0.0,) * 4, (1.0,) * 4), 1e9, 1, 1, None, 0.0, "sleep",
                    {"sleep": variant}, {"model": {"created": "bench"}})
    return LoadedModel(bundle, variant, backend=None, scorer=score)


def _slow_consumer(master: int, name: str, lines: int) -> dict:
    """1 kHz into a pipeline whose worker needs 20 ms per window: count what was scored and dropped."""
    import io
    import threading

    from edge.decide import DecisionConfig
    from edge.pipeline import Pipeline, RunConfig
    from edge.sinks import JsonLinesSink
    from edge.sources import open_source

    source = open_source(f"serial:{name}?format=lines", ["a", "b", "c", "d"])
    sink = JsonLinesSink(io.StringIO())
    sink.open()
    pipeline = Pipeline(slow_model(0.02), source, sink,
                        RunConfig("bench", DecisionConfig(1e9, 1, 1, 0, 1), queue_chunks=8, publish_status_every=3600))
    runner = threading.Thread(target=pipeline.run, daemon=True)
    runner.start()
    writer = _writer(master, lines)
    writer.wait()
    deadline = time.monotonic() + 10
    while source.stats()["samples"] < lines and time.monotonic() < deadline:
        time.sleep(0.02)
    pipeline.stop()
    runner.join(30)
    c = pipeline.counters
    return {"slow_sent": lines, "slow_read_by_source": source.stats()["samples"], "slow_scored_rows": c.rows,
            "slow_dropped_rows": c.overflows, "slow_accounted_exactly": c.rows + c.overflows == lines}


# -- report --------------------------------------------------------------------------------------


def main(argv=None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        audio = bench_audio(Path(tmp), args.seconds, args.live_seconds)
        camera = bench_camera(Path(tmp), args.frames)
    serial_figures = bench_serial(args.lines)
    print(f"audio  device path (streaming MFCC + LSTM, 1 s window / 250 ms hop): {audio['cpu_percent_per_stream']:.3f} % "
          f"of one core per 16 kHz stream -> {audio['streams_per_core']:.0f} streams per core "
          f"(model alone {audio['model_percent']:.3f} %; target <= 1 %)")
    print(f"       baseline, librosa MFCC recomputed per window: {audio['baseline_librosa_percent']:.3f} % "
          f"-> device path {audio['speedup_vs_baseline']:.1f}x cheaper")
    for live, how in ((audio["live"], "opened at its 44.1 kHz, resampled here"),
                      (audio["live_16k"], "opened at 16 kHz")):
        if "skipped" in live:
            print(f"       live microphone: skipped ({live['skipped']})")
            continue
        print(f"       live via PortAudio, whole process ({how}): {live['cpu_percent']:.3f} % of one core over "
              f"{live['wall_s']:.1f} s, {live['windows']} windows, overflows {live['overflows']}, dropped frames "
              f"{live['dropped_frames']}")
    print(f"camera {camera['source']} -> 160x120 grey features, one thread: {camera['fps_decode_and_features']:.0f} "
          f"frames/s (decode alone {camera['fps_decode_only']:.0f}; with OpenCV cvtColor+resize instead "
          f"{camera['fps_decode_and_opencv_baseline']:.0f}); features {camera['features_ms_per_frame']:.2f} ms/frame "
          f"vs OpenCV {camera['opencv_ms_per_frame']:.2f} (target >= 30 frames/s)")
    s = serial_figures
    print(f"serial {s['lines']} lines at 1 kHz: received {s['received']}, lost {s['lost']}; source CPU "
          f"{s['cpu_percent_source']:.2f} % vs readline() {s['cpu_percent_readline']:.2f} % "
          f"({s['readline_cpu_ratio']:.1f}x)")
    print(f"       slow worker (20 ms/window): read {s['slow_read_by_source']}/{s['slow_sent']}, scored "
          f"{s['slow_scored_rows']} + dropped {s['slow_dropped_rows']} = "
          f"{s['slow_scored_rows'] + s['slow_dropped_rows']} -> exact: {s['slow_accounted_exactly']}")
    if args.json:
        args.json.write_text(json.dumps({"audio": audio, "camera": camera, "serial": s}, indent=2, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
