"""The alert payload: what edgewatch publishes for one anomalous event.

The JSON form is documented in ``docs/alerts.md`` and validated against
``docs/alert.schema.json`` in the tests; consumers rely on it.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

__all__ = ["Alert", "ALERT_SCHEMA_VERSION", "ALERT_TYPES", "SEVERITIES", "severity_of"]

ALERT_TYPES = ("start", "update", "end")
SEVERITIES = ("low", "medium", "high")


def severity_of(score: float, threshold: float) -> str:
    """``low`` under 2x the threshold, ``medium`` under 5x, else ``high``."""
    ratio = score / threshold if threshold > 0 else float("inf")
    return "low" if ratio < 2 else "medium" if ratio < 5 else "high"

ALERT_SCHEMA_VERSION = 1


def _new_id() -> str:
    return uuid.uuid4().hex


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Alert:
    """One message about an anomalous event: its start, an update, or its end.

    Attributes:
        type: ``start`` when the event is decided, ``update`` when its severity
            rises, ``end`` when it is over (then ``score`` is the event's peak).
        event_id: shared by the start, updates and end of one event.
        severity: ``low``, ``medium`` or ``high``: score under 2x, under 5x, or at
            least 5x the threshold.
        device: the device id given to ``edge-infer --device-id``.
        model: the bundle's model name.
        variant: the bundle variant that scored it (e.g. ``int8``).
        score: the highest window score seen when the event started.
        threshold: the threshold the score was compared with.
        window_start: stream index of the first sample of the event's first hit window.
        window_end: index one past the last sample of the latest window the message covers
            (start: the window that started the event; end: the event's last hit).
        time_start: ISO-8601 time of ``window_start`` (the data's timestamp), or null.
        time_end: ISO-8601 time of the sample before ``window_end``, or null.
        source: the source spec the samples came from.
        id: a unique id, so consumers can de-duplicate QoS 1 redeliveries.
        decided_at: wall-clock ISO-8601 time the runtime decided the alert.
        label: a classifier's label for the event (its likeliest non-background class);
            absent from the payload for other models.
    """

    device: str
    model: str
    variant: str
    score: float
    threshold: float
    window_start: int
    window_end: int
    time_start: str | None
    time_end: str | None
    source: str
    type: str = "start"
    event_id: str = ""
    severity: str = "low"
    id: str = field(default_factory=_new_id)
    decided_at: str = field(default_factory=_now_iso)
    schema: int = ALERT_SCHEMA_VERSION
    label: str | None = None

    def to_json(self) -> str:
        """The payload published on ``edgewatch/<device>/alerts`` (``label`` only when there is one)."""
        payload = asdict(self)
        if self.label is None:
            del payload["label"]
        return json.dumps(payload, separators=(",", ":"), allow_nan=False)

    @classmethod
    def from_json(cls, payload: str | bytes) -> "Alert":
        """Parse a payload produced by :meth:`to_json`."""
        return cls(**json.loads(payload))
