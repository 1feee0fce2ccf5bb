"""A durable outbox: alerts are on disk before anyone tries to send them.

SQLite in WAL mode with ``synchronous=FULL``: once :meth:`Outbox.put` returns,
the alert survives the process being killed and the device losing power. The
sink deletes a row when the broker acknowledges it; whatever is left is sent
again, in order, by the next run. The outbox is bounded by count, bytes and
age; when a bound is hit the oldest rows go, and they are counted.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from edge.errors import ConfigError, SinkError

__all__ = ["Outbox", "OutboxLimits", "OutboxRow"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    qos INTEGER NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS stats (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


@dataclass(frozen=True)
class OutboxLimits:
    """Bounds of the outbox; the oldest rows are dropped (and counted) beyond them."""

    max_count: int = 100_000
    max_bytes: int = 64 * 1024 * 1024
    max_age_s: float = 30 * 24 * 3600.0

    def __post_init__(self) -> None:
        if self.max_count < 1 or self.max_bytes < 1 or self.max_age_s <= 0:
            raise ConfigError("outbox limits must be positive (count, bytes, age)")


@dataclass(frozen=True)
class OutboxRow:
    id: int
    topic: str
    payload: bytes
    qos: int


class Outbox:
    """The on-disk queue of messages not yet acknowledged. Thread-safe."""

    def __init__(self, path: Path, limits: OutboxLimits | None = None) -> None:
        self.path = Path(path)
        self.limits = limits or OutboxLimits()
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise SinkError(f"cannot open the alert outbox {self.path}: {exc}; check --outbox and disk space") from exc

    def put(self, topic: str, payload: bytes, qos: int) -> int:
        """Store one message durably; returns its row id. Enforces the limits."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                cursor = self._db.execute(
                    "INSERT INTO outbox (topic, payload, qos, created) VALUES (?, ?, ?, ?)",
                    (topic, payload, qos, time.time()),
                )
                self._enforce_limits()
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._db.execute("ROLLBACK") if self._db.in_transaction else None
                raise SinkError(f"cannot write to the alert outbox {self.path}: {exc}") from exc
            return int(cursor.lastrowid)

    def _enforce_limits(self) -> None:
        limits = self.limits
        cutoff = time.time() - limits.max_age_s
        dropped = self._db.execute("DELETE FROM outbox WHERE created < ?", (cutoff,)).rowcount
        count, size = self._db.execute("SELECT COUNT(*), COALESCE(SUM(LENGTH(payload)), 0) FROM outbox").fetchone()
        while count > limits.max_count or (size > limits.max_bytes and count > 1):
            oldest_id, oldest_size = self._db.execute(
                "SELECT id, LENGTH(payload) FROM outbox ORDER BY id LIMIT 1").fetchone()
            self._db.execute("DELETE FROM outbox WHERE id = ?", (oldest_id,))
            count, size, dropped = count - 1, size - oldest_size, dropped + 1
        if dropped:
            self._db.execute(
                "INSERT INTO stats (name, value) VALUES ('dropped', ?) "
                "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value", (dropped,))

    def pending(self, after_id: int = 0, limit: int = 100) -> list[OutboxRow]:
        """Rows with id > ``after_id``, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, topic, payload, qos FROM outbox WHERE id > ? ORDER BY id LIMIT ?", (after_id, limit)
            ).fetchall()
        return [OutboxRow(int(r[0]), r[1], bytes(r[2]), int(r[3])) for r in rows]

    def delete(self, row_id: int) -> None:
        """Forget a row the broker acknowledged."""
        with self._lock:
            self._db.execute("DELETE FROM outbox WHERE id = ?", (row_id,))

    def contains(self, row_id: int) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM outbox WHERE id = ?", (row_id,)).fetchone() is not None

    @property
    def depth(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    @property
    def dropped(self) -> int:
        """Rows dropped over the limits since the outbox was created."""
        with self._lock:
            row = self._db.execute("SELECT value FROM stats WHERE name = 'dropped'").fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        with self._lock:
            self._db.close()
