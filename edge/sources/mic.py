"""A live microphone through PortAudio (sounddevice): ``mic``, ``mic:2``, ``mic:USB?rate=48000``.

``NAME_OR_INDEX`` picks the input device without prompts: an index from
``edgewatch devices``, or a unique part of its name; none = the default input.
The device is opened at its own default rate (or ``rate=``), and the blocks
go through the same :class:`~edge.sources.audio.AudioChunker` as a WAV replay,
which resamples them to the bundle's rate.

The PortAudio callback only copies each block into a bounded queue (it never
blocks and never raises); a full queue drops the block and counts it. Input
overflows flagged by PortAudio are counted too, and both mark a gap so the
pipeline restarts its windows instead of scoring across the hole. When the
device fails (the stream ends by itself, or no audio arrives for ``stall``
seconds; a new stream gets at least 5 s for its first block) the stream is closed and reopened with backoff, re-enumerating the
devices (a replugged USB microphone gets a new index), for up to ``reconnect``
seconds; then ``SourceError``.

Query keys: ``rate`` (Hz to open the device at; default its own), ``reconnect``
(30 s; 0 = give up at once), ``stall`` (5 s), ``queue`` (blocks, 64), ``blocksize``
(frames per callback; default 100 ms worth: PortAudio's own small default cost 20x the CPU
over PulseAudio and delivered 8 % fewer frames than the rate, measured).

Threads: the PortAudio callback runs on PortAudio's thread; ``chunks()`` on the
pipeline's producer; ``close()`` and ``stats()`` on any.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from edge.errors import ConfigError, MissingDependencyError, SourceError
from edge.native_output import native_output_silenced
from edge.sources.audio import AudioChunker, target_rate
from edge.sources.base import Chunk, StreamRequest
from edge.sources.reopen import Backoff, reopen_with_backoff

__all__ = ["MicOptions", "MicSource", "parse_mic_spec", "open_mic", "sounddevice_module"]

log = logging.getLogger(__name__)
_KEYS = ("rate", "reconnect", "stall", "queue", "blocksize")
STARTUP_S = 5.0  # longest wait for a (re)opened stream's first block
CLOSE_TIMEOUT_S = 2.0  # longest wait for PortAudio to close a stream


@dataclass(frozen=True)
class MicOptions:
    """A parsed ``mic`` spec; see the module docstring for the keys."""

    device: int | str | None = None
    rate: float | None = None
    reconnect_s: float = 30.0
    stall_s: float = 5.0
    queue_blocks: int = 64
    blocksize: int | None = None  # None: 100 ms at the native rate


def parse_mic_spec(arg: str) -> MicOptions:
    """``[NAME_OR_INDEX][?key=value&...]`` (after ``mic:``) -> options; raises ``ConfigError``."""
    name, _, query = arg.partition("?")
    given = dict(parse_qsl(query, keep_blank_values=True))
    unknown = sorted(set(given) - set(_KEYS))
    if unknown:
        raise ConfigError(f"mic source: unknown option(s) {', '.join(unknown)}; known: {', '.join(_KEYS)}")
    try:
        options = MicOptions(
            device=int(name) if name.strip().isdigit() else (name.strip() or None),
            rate=float(given["rate"]) if "rate" in given else None,
            reconnect_s=float(given.get("reconnect", 30.0)), stall_s=float(given.get("stall", 5.0)),
            queue_blocks=int(given.get("queue", 64)),
            blocksize=int(given["blocksize"]) if "blocksize" in given else None)
    except ValueError as exc:
        raise ConfigError(f"mic source {arg!r}: rate, reconnect and stall are numbers, queue and blocksize "
                          "integers") from exc
    if (options.rate is not None and not options.rate > 0) or not 0 <= options.reconnect_s < math.inf \
            or not options.stall_s > 0 or options.queue_blocks < 1 or (options.blocksize or 0) < 0:
        raise ConfigError(f"mic source {arg!r}: rate and stall must be > 0, reconnect >= 0, queue >= 1")
    return options


def sounddevice_module() -> Any:
    """Import sounddevice (initialising PortAudio), or say which install fixes it."""
    try:
        import sounddevice
    except ImportError as exc:
        raise MissingDependencyError("microphone sources need sounddevice: pip install 'edgewatch[audio]'") from exc
    except OSError as exc:  # the wheel does not bundle PortAudio on Linux
        raise MissingDependencyError(f"sounddevice cannot load PortAudio ({exc}); install it: "
                                     "apt install libportaudio2") from exc
    return sounddevice


def _input_names(sd: Any) -> str:
    devices = [f"{d['index']}: {d['name']}" for d in sd.query_devices() if d["max_input_channels"] > 0]
    return "; ".join(devices) if devices else "none found"


class MicSource:
    """Audio from an input device as model-rate ``Chunk``s; see the module docstring."""

    name = "mic"
    live = True

    def __init__(self, options: MicOptions, request: StreamRequest) -> None:
        self.options, self._request = options, request
        self.spec = "mic" if options.device is None else f"mic:{options.device}"
        self._sd = sounddevice_module()
        self._queue: queue.Queue = queue.Queue(maxsize=options.queue_blocks)
        self._closed = threading.Event()
        self._ended = threading.Event()  # set by PortAudio when the stream stops by itself
        self._lock = threading.Lock()
        self._reading = False
        self._stream: Any = None
        self._lost = 0  # frames dropped since the last queued block (callback thread only)
        self._reopened = False  # producer thread only
        self._stuck: list[threading.Thread] = []  # closes PortAudio never finished
        self.frames_taken = 0  # frames the producer took from the queue
        self.frames_in = self.overflows = self.dropped_blocks = self.dropped_frames = self.reconnects = 0
        self.last_error: str | None = None
        self.device_name = "?"
        self._chunker: AudioChunker | None = None
        self._open()

    # -- PortAudio thread ---------------------------------------------------------

    def _callback(self, indata, frames, time_info, status) -> None:
        """Runs on PortAudio's thread: copy and enqueue, count what cannot be queued."""
        self.frames_in += frames
        if status.input_overflow:
            self.overflows += 1
        lost = self._lost + (1 if status.input_overflow else 0)
        try:
            self._queue.put_nowait((indata.copy(), time.time(), lost))
            self._lost = 0
        except queue.Full:
            self.dropped_blocks += 1
            self.dropped_frames += frames
            self._lost += frames

    # -- producer thread ----------------------------------------------------------

    def chunks(self) -> Iterator[Chunk]:
        with self._lock:
            self._reading = True
        try:
            # a stream's first block takes up to ~2 s (measured through PulseAudio): allow STARTUP_S for it
            deadline = time.monotonic() + max(self.options.stall_s, STARTUP_S)
            while not self._closed.is_set():
                if self._stream is None:
                    self._reopen()
                    deadline = time.monotonic() + max(self.options.stall_s, STARTUP_S)
                    continue
                try:
                    block, stamp, lost = self._queue.get(timeout=0.2)
                except queue.Empty:
                    if self._ended.is_set() or time.monotonic() > deadline:
                        self._fail("the stream stopped" if self._ended.is_set()
                                   else f"no audio for {self.options.stall_s:g} s")
                    continue
                deadline = time.monotonic() + self.options.stall_s
                self.frames_taken += len(block)
                if self._reopened:  # the first block of a reopened stream follows a gap
                    lost, self._reopened = lost + 1, False
                chunk = self._chunker.push(block, stamp, lost)
                if chunk is not None:
                    yield chunk
        finally:
            with self._lock:
                self._reading = False
                self._drop_stream()

    def _open(self) -> None:
        sd = self._sd
        try:
            info = sd.query_devices(self.options.device, kind="input")
        except (ValueError, sd.PortAudioError):
            self._reinitialise_portaudio()  # PortAudio lists devices once; this one may have come since
            try:
                info = sd.query_devices(self.options.device, kind="input")
            except (ValueError, sd.PortAudioError) as exc:
                raise SourceError(f"no input device matches {self.spec!r} ({exc}); inputs: {_input_names(sd)} "
                                  "(edgewatch devices lists them)") from exc
        native = self.options.rate or float(info["default_samplerate"])
        rate = target_rate(self._request, native, self.spec)
        if self._chunker is None or self._chunker.native_rate != native:
            self._chunker = AudioChunker(native, rate, self._request.channels, self._request.channels, self.spec)
        self._ended.clear()
        try:
            with native_output_silenced(2):
                blocksize = self.options.blocksize if self.options.blocksize is not None else round(native / 10)
                stream = sd.InputStream(device=info["index"], channels=self._request.channels, samplerate=native,
                                        dtype="float32", blocksize=blocksize, latency="high",
                                        callback=self._callback, finished_callback=self._ended.set)
                stream.start()
        except sd.PortAudioError as exc:
            raise SourceError(f"cannot open input device {info['name']!r} at {native:g} Hz with "
                              f"{self._request.channels} channel(s): {exc}") from exc
        self.device_name = info["name"]
        self._stream = stream

    def _fail(self, reason: str) -> None:
        """The device went away: close the stream; the loop reopens it."""
        self.last_error = reason
        log.warning("microphone %s: %s; reopening for up to %g s", self.device_name, reason, self.options.reconnect_s)
        with self._lock:
            self._drop_stream()

    def _reopen(self) -> None:
        """Open the device again with backoff (re-enumerating devices); ``SourceError`` after ``reconnect``."""
        def open_once() -> bool:
            self._reinitialise_portaudio()
            self._open()
            return True

        def give_up(exc: SourceError) -> SourceError:
            return SourceError(f"microphone {self.spec} failed ({exc}) and could not be "
                               f"reopened within {self.options.reconnect_s:g} s; is it plugged in?")

        def failed(exc: SourceError) -> None:
            self.last_error = str(exc)

        if reopen_with_backoff(open_once, self._closed, Backoff(self.options.reconnect_s), give_up, failed):
            self.reconnects += 1
            self._reopened = True
            log.info("microphone %s reopened (reconnect %d)", self.device_name, self.reconnects)

    def _reinitialise_portaudio(self) -> None:
        """Let PortAudio list the devices afresh (our stream is closed; no other is open here).

        Skipped while a stream PortAudio would not close is still around: terminating
        would wait for it too.
        """
        if any(t.is_alive() for t in self._stuck):
            return
        terminate, initialize = getattr(self._sd, "_terminate", None), getattr(self._sd, "_initialize", None)
        if terminate is not None and initialize is not None:
            with native_output_silenced(2):
                terminate()
                initialize()

    def _drop_stream(self) -> None:
        """Close the stream, ignoring errors from a vanished device (caller holds the lock).

        The close runs on a helper thread and is abandoned after CLOSE_TIMEOUT_S: measured,
        PortAudio's ALSA stream can hang for good in close after its PulseAudio server died,
        and a wedged handle must not freeze the source that is meant to reconnect.
        """
        stream, self._stream = self._stream, None
        if stream is None:
            return
        closer = threading.Thread(target=_close_quietly, args=(stream, self.spec), daemon=True,
                                  name="edgewatch-mic-close")
        closer.start()
        closer.join(CLOSE_TIMEOUT_S)
        if closer.is_alive():
            self._stuck.append(closer)
            log.warning("PortAudio did not close %s within %g s; abandoning that stream", self.device_name,
                        CLOSE_TIMEOUT_S)

    # -- any thread ---------------------------------------------------------------

    def close(self) -> None:
        """Stop (from any thread): ``chunks()`` returns within about 0.2 s."""
        self._closed.set()
        with self._lock:
            if not self._reading:
                self._drop_stream()

    def stats(self) -> dict[str, Any]:
        """Device and counters for the status message.

        Every frame the device delivered (``frames_in``) was either taken (``frames_taken``),
        dropped on a full queue (``dropped_frames``) or is waiting (``queued_frames``).
        """
        chunker = self._chunker
        queued = sum(len(item[0]) for item in list(self._queue.queue))
        return {"device": self.device_name, "connected": self._stream is not None,
                "native_rate": chunker.native_rate if chunker else None, "rate": chunker.out_rate if chunker else None,
                "frames_in": self.frames_in, "frames_taken": self.frames_taken,
                "queued_frames": queued, "samples": chunker.samples_out if chunker else 0, "overflows": self.overflows,
                "dropped_blocks": self.dropped_blocks, "dropped_frames": self.dropped_frames,
                "reconnects": self.reconnects, "abandoned_streams": len(self._stuck), "last_error": self.last_error}


def _close_quietly(stream: Any, spec: str) -> None:
    try:
        stream.close(ignore_errors=True)
    except Exception:  # noqa: BLE001 - a vanished device may fail to close cleanly
        log.debug("error closing %s", spec, exc_info=True)


def open_mic(arg: str, request: StreamRequest) -> MicSource:
    """The source for ``mic[:ARG]``; opens the device now so a wrong name fails before anything runs."""
    return MicSource(parse_mic_spec(arg), request)
