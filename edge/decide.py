"""Turning window scores into anomalous events: threshold, k-of-n debounce, release, cooldown.

Pure logic, no I/O: the pipeline feeds one score per window and publishes the
events this returns.

Classifier windows also carry a label (the likeliest non-background class). An
event takes the label most of its starting hits carry; while it is open, a window
whose label differs starts a new event (and ends the open one, in the same
window) once that label has ``k`` hits among the last ``n`` windows and more of
them than the open event's label. A label flickering for fewer windows changes nothing.

An optional end ratio closes an event once the disturbance that raised it has
passed, even if the score stays above the threshold: a window also counts as
quiet when its score is below ``peak / end_ratio`` (the event's peak so far).
What such an event leaves behind (a sensor that stays off, a temperature that
has not cooled down) is its after-effect, so no new event starts until a window
has scored at or below the threshold again (re-arm): one alert per disturbance,
not a run of alerts for its aftermath.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass
from enum import Enum

from edge.errors import ConfigError

__all__ = ["DecisionConfig", "Decider", "Event", "EventKind"]


@dataclass(frozen=True)
class DecisionConfig:
    """How scores become events.

    Attributes:
        threshold: a window whose score exceeds this is a hit.
        k: hits needed among the last ``n`` windows to start an event.
        n: the debounce span in windows.
        cooldown: windows after an event ends during which no new event may start.
        release: consecutive windows without a hit that end an event (default ``2 * n``),
            so an anomaly whose score dips briefly stays one event.
        end_ratio: if set (> 1), a window whose score is below the event's peak divided by
            this also counts as quiet, and an event that ends with the score still above the
            threshold must see a window at or below it before the next event (``None``: off).
    """

    threshold: float
    k: int = 3
    n: int = 5
    cooldown: int = 0
    release: int | None = None
    end_ratio: float | None = None

    @property
    def release_windows(self) -> int:
        return self.release if self.release is not None else 2 * self.n

    def __post_init__(self) -> None:
        if not 1 <= self.k <= self.n:
            raise ConfigError(f"debounce needs 1 <= k <= n, got k={self.k}, n={self.n}")
        if self.cooldown < 0:
            raise ConfigError(f"cooldown must be >= 0 windows, got {self.cooldown}")
        if self.release is not None and self.release < 1:
            raise ConfigError(f"release must be >= 1 window, got {self.release}")
        if self.end_ratio is not None and not self.end_ratio > 1.0:
            raise ConfigError(f"end ratio must be > 1 (the peak divided by it), got {self.end_ratio}")


class EventKind(str, Enum):
    START = "start"
    END = "end"


@dataclass(frozen=True)
class Event:
    """An event boundary.

    Attributes:
        kind: start or end.
        window: sequence number (0-based) of the window that triggered it.
        score: the highest score of the event so far (from its first hit on).
        first_hit: window number of the earliest hit in the debounce span (start events).
        label: the event's label (classifier windows), else None.
        ended: for a start caused by a change of label, the end of the event it replaces
            (decided in the same window); else None.
    """

    kind: EventKind
    window: int
    score: float
    first_hit: int
    label: str | None = None
    ended: "Event | None" = None


class Decider:
    """Feeds on one score per window and reports event starts and ends."""

    def __init__(self, config: DecisionConfig) -> None:
        self.config = config
        self._recent: deque[tuple[int, float, str | None]] = deque(maxlen=config.n)  # (window, score, label)
        self._count = 0
        self._quiet_run = 0  # consecutive windows without a hit during an event
        self._active = False
        self._peak = float("-inf")
        self._first_hit = 0
        self._label: str | None = None
        self._quiet_until = -1  # window number before which no event may start
        self._armed = True  # False after an event ended on the end ratio, until a score <= threshold
        self.suppressed = 0  # starts swallowed by the cooldown

    @property
    def active(self) -> bool:
        return self._active

    @property
    def label(self) -> str | None:
        """The open event's label (None without an event or without labels)."""
        return self._label if self._active else None

    def update(self, score: float, label: str | None = None) -> Event | None:
        """Record the next window's score (and label); return the event it triggers, if any."""
        index = self._count
        self._count += 1
        if not self._active and not self._armed:
            self._armed = score <= self.config.threshold
            return None
        self._recent.append((index, score, label))
        if self._active:
            return self._continue_event(index, score, label)
        hits = [(i, lab) for i, s, lab in self._recent if s > self.config.threshold]
        if len(hits) < self.config.k:
            return None
        if index < self._quiet_until:
            self.suppressed += 1
            self._recent.clear()
            return None
        first = hits[0][0]
        peak = max(s for i, s, _ in self._recent if i >= first)
        self._active, self._peak, self._first_hit = True, peak, first
        self._label = _majority([lab for _, lab in hits])
        return Event(EventKind.START, index, float(peak), first, self._label)

    def _continue_event(self, index: int, score: float, label: str | None) -> Event | None:
        hit = score > self.config.threshold
        if hit and label != self._label and self._label_takes_over(label):
            return self._switch(index, label)
        self._peak = max(self._peak, score)
        self._quiet_run = self._quiet_run + 1 if self._is_quiet(score) else 0
        if self._quiet_run >= self.config.release_windows:
            self._active = False
            self._armed = score <= self.config.threshold  # else: ended on the end ratio, re-arm first
            self._quiet_run = 0
            self._quiet_until = index + 1 + self.config.cooldown
            self._recent.clear()
            return Event(EventKind.END, index, float(self._peak), self._first_hit, self._label)
        return None

    def _label_takes_over(self, label: str | None) -> bool:
        counts = Counter(lab for _, s, lab in self._recent if s > self.config.threshold)
        return counts[label] >= self.config.k and counts[label] > counts[self._label]

    def _switch(self, index: int, label: str | None) -> Event:
        """End the open event and start one with ``label`` in this window (see the module docstring)."""
        ended = Event(EventKind.END, index, float(self._peak), self._first_hit, self._label)
        hits = [(i, s) for i, s, lab in self._recent if s > self.config.threshold and lab == label]
        self._first_hit, self._peak, self._label, self._quiet_run = hits[0][0], max(s for _, s in hits), label, 0
        return Event(EventKind.START, index, float(self._peak), self._first_hit, label, ended)

    def _is_quiet(self, score: float) -> bool:
        if score <= self.config.threshold:
            return True
        ratio = self.config.end_ratio
        return ratio is not None and score * ratio < self._peak

    def finish(self) -> Event | None:
        """Close an event still open when the stream ends."""
        if not self._active:
            return None
        self._active = False
        return Event(EventKind.END, self._count - 1, float(self._peak), self._first_hit, self._label)


def _majority(labels: list[str | None]) -> str | None:
    """The most frequent label; a tie goes to the one seen last."""
    counts = Counter(labels)
    best = max(counts.values())
    return next(lab for lab in reversed(labels) if counts[lab] == best)
