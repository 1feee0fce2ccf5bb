"""From decider events to alert messages: start, update (severity rose), end.

Pure bookkeeping, no I/O: the pipeline feeds every scored window and the
decider's event, and publishes what comes back. A start that replaces an open
event (a classifier's label changed) gives that event's end first, then the new start.
"""

from __future__ import annotations

import math
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone

from edge.alerts import SEVERITIES, Alert, severity_of
from edge.decide import Event, EventKind
from edge.window import Window

__all__ = ["AlertContext", "EventTracker"]


@dataclass(frozen=True)
class AlertContext:
    """What every alert of a run says about where it comes from."""

    device: str
    model: str
    variant: str
    source: str


class EventTracker:
    """Remembers the open event and builds its messages."""

    def __init__(self, context: AlertContext, hop: int, span: int) -> None:
        self.context = context
        self.hop = hop
        self._recent: deque[Window] = deque(maxlen=span)
        self._event_id = ""
        self._first: Window | None = None
        self._last_hit: Window | None = None
        self._severity = ""
        self._peak = -math.inf
        self._label: str | None = None

    def on_window(self, window: Window, score: float, event: Event | None, threshold: float) -> list[Alert]:
        """Messages caused by this scored window (usually none)."""
        self._recent.append(window)
        if event is not None and event.kind is EventKind.START:
            ended = self.finish(event.ended, threshold) if event.ended is not None else []
            self._event_id = uuid.uuid4().hex
            start = event.first_hit * self.hop
            self._first = next((w for w in self._recent if w.start == start), self._recent[0])
            self._last_hit, self._peak, self._label = window, event.score, event.label
            self._severity = severity_of(event.score, threshold)
            return ended + [self._alert("start", event.score, threshold, window)]
        if event is not None and event.kind is EventKind.END:
            return self.finish(event, threshold)
        if not self._event_id:
            return []
        if score > threshold:
            self._last_hit = window
            self._peak = max(self._peak, score)
        severity = severity_of(self._peak, threshold)
        if SEVERITIES.index(severity) > SEVERITIES.index(self._severity):
            self._severity = severity
            return [self._alert("update", self._peak, threshold, window)]
        return []

    def finish(self, event: Event | None, threshold: float) -> list[Alert]:
        """The end message of the open event, if any (the stream ended or the decider closed it)."""
        if not self._event_id or event is None:
            return []
        peak = max(self._peak, event.score)
        alert = self._alert("end", peak, threshold, self._last_hit or self._recent[-1])
        self._event_id = ""
        return [alert]

    def _alert(self, kind: str, score: float, threshold: float, last: Window) -> Alert:
        first = self._first or last
        return Alert(
            device=self.context.device, model=self.context.model, variant=self.context.variant,
            score=round(float(score), 6), threshold=threshold,
            window_start=first.start, window_end=last.end,
            time_start=_iso(first.times[0]), time_end=_iso(last.times[-1]),
            source=self.context.source, type=kind, event_id=self._event_id,
            severity=severity_of(score, threshold), label=self._label,
        )


def _iso(stamp: float) -> str | None:
    if math.isnan(stamp):
        return None
    return datetime.fromtimestamp(stamp, tz=timezone.utc).isoformat(timespec="milliseconds")
