"""The alert payload: what edgewatch publishes for one anomalous event.

The JSON form is documented in ``docs/alerts.md`` and validated against
``docs/alert.schema.json`` in the tests; consumers rely on it.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

__all__ = ["Alert", "ALERT_SCHEMA_VERSION"]

ALERT_SCHEMA_VERSION = 1


def _new_id() -> str:
    return uuid.uuid4().hex


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Alert:
    """One anomalous event, decided by the runtime.

    Attributes:
        device: the device id given to ``edge-infer --device-id``.
        model: the bundle's model name.
        variant: the bundle variant that scored it (e.g. ``int8``).
        score: the highest window score seen when the event started.
        threshold: the threshold the score was compared with.
        window_start: index of the first sample of the first anomalous window.
        window_end: index one past the last sample of the window that started the event.
        time_start: ISO-8601 time of ``window_start`` (data timestamp, else wall clock).
        time_end: ISO-8601 time of the last sample of that window.
        source: the source spec the samples came from.
        id: a unique id, so consumers can de-duplicate QoS 1 redeliveries.
        decided_at: wall-clock ISO-8601 time the runtime decided the alert.
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
    id: str = field(default_factory=_new_id)
    decided_at: str = field(default_factory=_now_iso)
    schema: int = ALERT_SCHEMA_VERSION

    def to_json(self) -> str:
        """The payload published on ``edgewatch/<device>/alerts``."""
        return json.dumps(asdict(self), separators=(",", ":"), allow_nan=False)

    @classmethod
    def from_json(cls, payload: str | bytes) -> "Alert":
        """Parse a payload produced by :meth:`to_json`."""
        return cls(**json.loads(payload))
