"""One source, one bundle, one sink: windows -> scores -> events -> alerts.

A producer thread pulls chunks from the source into a bounded queue; the
calling thread windows, infers, decides and hands alerts to the sink. The
pipeline owns the counters, which the status callback reads.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np

from edge.alerts import Alert
from edge.backends import Backend
from edge.bundle import Bundle, Variant
from edge.decide import Decider, DecisionConfig, EventKind
from edge.errors import EdgewatchError
from edge.score import WindowScorer
from edge.sinks.base import DeliveryReport, Sink
from edge.sources.base import Chunk, Source
from edge.window import SlidingWindow, Window

__all__ = ["RunConfig", "Counters", "RunSummary", "Pipeline"]

_END = object()


@dataclass(frozen=True)
class RunConfig:
    """What ``edge-infer`` was asked to do beyond the bundle's defaults."""

    device_id: str
    decision: DecisionConfig
    status_interval: float = 0.5
    queue_chunks: int = 64


@dataclass
class Counters:
    """Live figures of a run; written by the worker, read by the status callback."""

    rows: int = 0
    bad_rows: int = 0
    first_bad: str | None = None
    windows: int = 0
    events: int = 0
    alerts: int = 0
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
    """Runs one stream to its end; ``stop()`` from another thread ends it early."""

    def __init__(
        self,
        bundle: Bundle,
        variant: Variant,
        backend: Backend,
        source: Source,
        sink: Sink,
        config: RunConfig,
        on_status: Callable[[Counters], None] | None = None,
    ) -> None:
        self.bundle, self.variant, self.backend = bundle, variant, backend
        self.source, self.sink, self.config = source, sink, config
        self.counters = Counters()
        self._scorer = WindowScorer(bundle.scaler, backend)
        self._on_status = on_status
        self._queue: queue.Queue = queue.Queue(maxsize=config.queue_chunks)
        self._error: BaseException | None = None
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()
        self.source.close()

    def run(self) -> RunSummary:
        """Stream until the source ends; returns the counters and what the sink delivered."""
        spec = self.bundle.input
        windows = SlidingWindow(spec.window, spec.hop, spec.channels)
        decider = Decider(self.config.decision)
        recent: deque[Window] = deque(maxlen=self.config.decision.n)
        producer = threading.Thread(target=self._produce, name="edgewatch-source", daemon=True)
        producer.start()
        last_status = 0.0
        for chunk in self._consume():
            self._count_rows(chunk)
            for window in windows.push(chunk.values, chunk.times):
                recent.append(window)
                self._decide(decider, window, recent)
            if self._on_status and time.monotonic() - last_status >= self.config.status_interval:
                last_status = time.monotonic()
                self._on_status(self.counters)
        producer.join()
        if self._error is not None:
            raise self._error
        decider.finish()
        return RunSummary(self.counters, self.sink.close(), decider.suppressed)

    def _produce(self) -> None:
        try:
            for chunk in self.source.chunks():
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

    def _score(self, window: Window) -> float:
        began = time.perf_counter()
        score = self._scorer(window.values)
        self.counters.latencies_ms.append((time.perf_counter() - began) * 1000.0)
        return score

    def _decide(self, decider: Decider, window: Window, recent: deque[Window]) -> None:
        score = self._score(window)
        self.counters.windows += 1
        event = decider.update(score)
        if event is None or event.kind is not EventKind.START:
            return
        self.counters.events += 1
        first = next((w for w in recent if w.start == event.first_hit * self.bundle.input.hop), recent[0])
        alert = Alert(
            device=self.config.device_id,
            model=self.bundle.model_name,
            variant=self.variant.name,
            score=round(event.score, 6),
            threshold=self.config.decision.threshold,
            window_start=first.start,
            window_end=window.end,
            time_start=_iso(first.times[0]),
            time_end=_iso(window.times[-1]),
            source=self.source.spec,
        )
        self.sink.publish(alert)
        self.counters.alerts += 1


def _iso(stamp: float) -> str | None:
    if math.isnan(stamp):
        return None
    return datetime.fromtimestamp(stamp, tz=timezone.utc).isoformat(timespec="milliseconds")
