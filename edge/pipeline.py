"""One source, one model, one sink: windows -> scores -> events -> alerts.

A producer thread pulls chunks from the source into a bounded queue; the
calling thread turns them into feature frames (the bundle's features, streaming),
windows, scores, decides, applies remote commands between
chunks and hands alerts, status and replies to the sink. The pipeline owns
the counters, which the status callback reads.

A live source (microphone, camera, serial port) is never blocked by a slow
worker: when the queue is full its chunk is dropped and its samples counted in
``overflows``; the features and windows restart after any gap so no window
spans the hole. Replays wait for the worker instead and lose nothing.

A model prepared elsewhere (a signed update) is offered with ``offer_model``:
between two chunks it scores the last window (its self-test) and takes over;
the old model stays open for ``probation_windows`` windows, and if the new
one raises or scores NaN on a live window the old one takes back that very
window, so no window is lost either way.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from edge.control import Command
from edge.decide import Decider, DecisionConfig, EventKind
from edge.errors import EdgewatchError
from edge.events import AlertContext, EventTracker
from edge.model import LoadedModel, reload_model, self_test
from edge.procinfo import seconds_since_process_start
from edge.score import Scored
from edge.sinks.base import DeliveryReport, Sink
from edge.sources.base import Chunk, Source
from edge.window import SlidingWindow, Window

__all__ = ["RunConfig", "Counters", "RunSummary", "Pipeline", "ModelOffer"]

_END = object()


@dataclass(frozen=True)
class RunConfig:
    """What ``edge-infer`` was asked to do beyond the bundle's defaults.

    Attributes:
        device_id: names the device in topics and alerts.
        decision: threshold, debounce and cooldown.
        status_interval: seconds between calls of the local status callback.
        publish_status_every: seconds between status messages to the sink.
        queue_chunks: bound of the source -> worker queue.
        probation_windows: windows an offered model runs with the old one kept ready.
    """

    device_id: str
    decision: DecisionConfig
    status_interval: float = 0.5
    publish_status_every: float = 30.0
    queue_chunks: int = 64
    probation_windows: int = 10


@dataclass(frozen=True)
class ModelOffer:
    """A loaded model waiting to take over between windows.

    ``on_result(None)`` when it has passed its self-test and probation, else
    ``on_result(reason)``; called once, on the pipeline's worker thread.
    """

    model: LoadedModel
    on_result: Callable[[str | None], None]


@dataclass
class _Probation:
    old: LoadedModel
    old_threshold: float
    offer: ModelOffer
    windows_left: int


@dataclass
class Counters:
    """Live figures of a run; written by the worker, read by the status callback."""

    rows: int = 0
    bad_rows: int = 0
    first_bad: str | None = None
    windows: int = 0
    events: int = 0
    alerts: int = 0
    overflows: int = 0
    last_score: float = math.nan
    first_window_s: float | None = None  # process age when the first window was scored
    started: float = field(default_factory=time.monotonic)
    latencies_ms: deque = field(default_factory=lambda: deque(maxlen=4096))

    def latency_ms(self, percentile: float) -> float:
        return float(np.percentile(self.latencies_ms, percentile)) if self.latencies_ms else math.nan

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started


@dataclass(frozen=True)
class RunSummary:
    counters: Counters
    delivery: DeliveryReport
    suppressed: int


class Pipeline:
    """Runs one stream to its end; ``stop()`` and ``submit()`` may be called from other threads."""

    def __init__(self, model: LoadedModel, source: Source, sink: Sink, config: RunConfig,
                 on_status: Callable[[Counters], None] | None = None) -> None:
        self.model, self.source, self.sink, self.config = model, source, sink, config
        self.counters = Counters()
        self.paused = False
        self._on_status = on_status
        self._queue: queue.Queue = queue.Queue(maxsize=config.queue_chunks)
        self._commands: queue.SimpleQueue[Command] = queue.SimpleQueue()
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._decider = Decider(config.decision)
        self._tracker = self._new_tracker()
        self._last_window: Window | None = None
        self._probation: _Probation | None = None

    @property
    def threshold(self) -> float:
        return self._decider.config.threshold

    def stop(self) -> None:
        """End the run early (e.g. on SIGTERM): the window in flight is finished first."""
        self._stop.set()
        self.source.close()

    def submit(self, command: Command) -> None:
        """Queue a validated remote command; applied between chunks by the worker."""
        self._commands.put(command)

    def offer_model(self, offer: ModelOffer) -> None:
        """Queue a prepared model; self-tested and swapped in between chunks by the worker."""
        self._commands.put(offer)

    def run(self) -> RunSummary:
        """Stream until the source ends; returns the counters and what the sink delivered."""
        spec = self.model.bundle.input
        features = spec.extractor()
        windows = SlidingWindow(spec.window, spec.hop, spec.channels)
        producer = threading.Thread(target=self._produce, name="edgewatch-source", daemon=True)
        producer.start()
        last_local = last_published = 0.0
        self._publish_status()
        for chunk in self._consume():
            self._count_rows(chunk)
            if chunk.gap:
                features.reset()
                windows.restart()
            frames, times = features.push(chunk.values, chunk.times)
            for window in windows.push(frames, times):
                self._handle(window)
            self._apply_commands()
            now = time.monotonic()
            if self._on_status and now - last_local >= self.config.status_interval:
                last_local = now
                self._on_status(self.counters)
            if now - last_published >= self.config.publish_status_every:
                last_published = now
                self._publish_status()
        producer.join()
        self._refuse_pending("edge-infer stopped before the new model could take over")
        self._end_probation()
        if self._error is not None:
            raise self._error
        self._emit(self._tracker.finish(self._decider.finish(), self.threshold))
        self._publish_status()
        return RunSummary(self.counters, self.sink.close(), self._decider.suppressed)

    def _produce(self) -> None:
        live, lost = getattr(self.source, "live", False), 0
        try:
            for chunk in self.source.chunks():
                if live:  # never block a device: drop and count, and mark the gap on the next chunk
                    try:
                        self._queue.put_nowait(replace(chunk, gap=chunk.gap + lost) if lost else chunk)
                        lost = 0
                    except queue.Full:
                        lost += len(chunk.values)
                        self.counters.overflows += len(chunk.values)
                    if self._stop.is_set():
                        break
                    continue
                while not self._stop.is_set():
                    try:
                        self._queue.put(chunk, timeout=0.2)
                        break
                    except queue.Full:
                        continue
                if self._stop.is_set():
                    break
        except EdgewatchError as exc:
            self._error = exc
        except Exception as exc:  # a source bug must still end the run with a message
            self._error = EdgewatchError(f"source {self.source.spec} failed: {exc!r}")
        finally:
            self._queue.put(_END)

    def _consume(self):
        while True:
            item = self._queue.get()
            if item is _END:
                return
            yield item

    def _count_rows(self, chunk: Chunk) -> None:
        self.counters.rows += len(chunk.values)
        if chunk.bad_rows:
            self.counters.bad_rows += len(chunk.bad_rows)
            if self.counters.first_bad is None:
                first = chunk.bad_rows[0]
                self.counters.first_bad = f"line {first.line}: {first.reason}"

    def _handle(self, window: Window) -> None:
        self._last_window = window
        if self.paused:
            return
        began = time.perf_counter()
        score, label = self._score(window.values)
        self.counters.latencies_ms.append((time.perf_counter() - began) * 1000.0)
        if self.counters.windows == 0:
            self.counters.first_window_s = seconds_since_process_start()
        self.counters.windows += 1
        self.counters.last_score = score
        event = self._decider.update(score, label)
        self._emit(self._tracker.on_window(window, score, event, self.threshold))
        if event is not None:
            self.counters.events += event.kind is EventKind.START
            self._publish_status()

    def _emit(self, alerts) -> None:
        for alert in alerts:
            self.sink.publish(alert)
            self.counters.alerts += 1

    def _new_tracker(self) -> EventTracker:
        context = AlertContext(self.config.device_id, self.model.bundle.model_name, self.model.variant.name,
                               self.source.spec)
        return EventTracker(context, self.model.bundle.input.hop, self.config.decision.n)

    # -- remote control (worker thread) -------------------------------------------

    def _apply_commands(self) -> None:
        while True:
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                return
            if isinstance(command, ModelOffer):
                self._take_offer(command)
                self._publish_status()
                continue
            try:
                self._apply(command)
                reply = {"ok": True, "reason": None}
            except EdgewatchError as exc:
                reply = {"ok": False, "reason": str(exc)}
            self.sink.publish_reply({"command": command.name, "request_id": command.request_id, **reply,
                                     "threshold": self.threshold, "paused": self.paused,
                                     "model": self.model.version})
            self._publish_status()

    def _apply(self, command: Command) -> None:
        if command.name == "threshold":
            self._set_threshold(command.args["value"])
        elif command.name in ("pause", "resume"):
            self.paused = command.name == "pause"
        elif command.name == "reload":
            self._reload(command.args.get("bundle"))

    def _set_threshold(self, value: float) -> None:
        self._decider.config = replace(self._decider.config, threshold=value)

    def _reload(self, path: str | None) -> None:
        probe = self._last_window.values if self._last_window is not None else None
        new = reload_model(self.model, Path(path) if path else None, probe)
        self._end_probation()
        old = self.model
        self._use(new)
        old.close()

    def _use(self, model: LoadedModel, threshold: float | None = None) -> None:
        self.model = model
        self._set_threshold(threshold if threshold is not None
                            else float(model.variant.info.get("threshold", model.bundle.threshold)))
        self._tracker.context = replace(self._tracker.context, model=model.bundle.model_name,
                                        variant=model.variant.name)

    # -- model offers and probation (worker thread) ----------------------------------

    def _take_offer(self, offer: ModelOffer) -> None:
        self._end_probation()
        probe = self._last_window.values if self._last_window is not None else None
        try:
            self_test(offer.model, probe)
        except EdgewatchError as exc:
            offer.model.close()
            offer.on_result(str(exc))
            return
        old, old_threshold = self.model, self.threshold
        self._use(offer.model)
        self._probation = _Probation(old, old_threshold, offer, self.config.probation_windows)
        if self.config.probation_windows <= 0:
            self._end_probation()

    def _score(self, values: np.ndarray) -> Scored:
        if self._probation is None:
            return _scored(self.model.scorer, values)
        try:
            result = _scored(self.model.scorer, values)
            failure = None if math.isfinite(result.score) else f"scored {result.score} on a live window"
        except Exception as exc:  # the new model failing must hand the window back to the old one
            failure = f"failed on a live window: {exc}"
        if failure is None:
            self._probation.windows_left -= 1
            if self._probation.windows_left <= 0:
                self._end_probation()
            return result
        self._roll_back(failure)
        return _scored(self.model.scorer, values)

    def _roll_back(self, failure: str) -> None:
        probation, self._probation = self._probation, None
        bad = self.model
        self._use(probation.old, probation.old_threshold)
        bad.close()
        probation.offer.on_result(f"rolled back to {probation.old.version}: the new model {failure}")

    def _end_probation(self) -> None:
        """The new model has proven itself: release the old one and report success."""
        if self._probation is None:
            return
        probation, self._probation = self._probation, None
        probation.old.close()
        probation.offer.on_result(None)

    def _refuse_pending(self, reason: str) -> None:
        while True:
            try:
                item = self._commands.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, ModelOffer):
                item.model.close()
                item.on_result(reason)

    def _publish_status(self) -> None:
        c = self.counters
        stats = getattr(self.source, "stats", None)
        self.sink.publish_status({
            "device": self.config.device_id,
            "model": self.model.version,
            "variant": self.model.variant.name,
            "backend": self.model.backend.name,
            "execution": getattr(self.model.backend, "execution", "cpu"),
            "uptime_s": round(c.elapsed, 3),
            "rows": c.rows, "bad_rows": c.bad_rows, "windows": c.windows,
            "windows_per_s": round(c.windows / c.elapsed, 3) if c.elapsed > 0 else 0.0,
            "latency_ms_p50": _finite(c.latency_ms(50)), "latency_ms_p99": _finite(c.latency_ms(99)),
            "events": c.events, "alerts": c.alerts, "overflows": c.overflows,
            "anomaly": self._decider.active, "last_score": _finite(c.last_score),
            "threshold": self.threshold, "paused": self.paused,
            **({"label": self._decider.label} if self.model.bundle.labels else {}),
            **({"source": stats()} if stats is not None else {}),
        })


def _scored(scorer: Callable[[np.ndarray], float], values: np.ndarray) -> Scored:
    """A :class:`WindowScorer`'s score and label; any other scoring callable gives a score alone."""
    scored = getattr(scorer, "scored", None)
    return scored(values) if scored is not None else Scored(scorer(values))


def _finite(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 6)
