"""A durable outbox: alerts are on disk before anyone tries to send them.

SQLite in WAL mode. :meth:`Outbox.put` returns once the alert is committed to
the write-ahead log: from then on it survives the process being killed. A
sync thread then fsyncs the log, so that it also survives the device losing
power: at once when alerts are rare, and in one fsync for all that arrived
meanwhile when they come in bursts (group commit), so a burst is not throttled
to one disk flush per alert. :meth:`Outbox.wait_durable` waits for that.

Acknowledged rows are deleted in batches; a deletion lost to a power cut only
means the alert is sent again (consumers de-duplicate by its id). Whatever is
left is sent again, in order, by the next run. The outbox is bounded by count,
bytes and age; when a bound is hit the oldest rows go, and they are counted.
Count and bytes are kept in memory so a put costs one small transaction,
whatever the depth.
"""

from __future__ import annotations

import os
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


class _WalSyncer:
    """Flushes the write-ahead log to the disk after commits, coalescing those that arrive meanwhile.

    Runs on its own thread (``edgewatch-outbox-sync``); ``committed`` is called by
    the thread that committed, with its commit's sequence number.
    """

    def __init__(self, wal_path: Path) -> None:
        self._wal_path = wal_path
        self._cond = threading.Condition()
        self._committed = self._synced = 0
        self._error: OSError | None = None
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="edgewatch-outbox-sync", daemon=True)
        self._thread.start()

    def committed(self) -> None:
        with self._cond:
            self._committed += 1
            self._cond.notify_all()

    def wait(self, timeout: float) -> bool:
        """True once everything committed before this call is on the disk."""
        with self._cond:
            target = self._committed
            return self._cond.wait_for(lambda: self._synced >= target or self._error is not None, timeout) \
                and self._error is None

    def close(self, timeout: float = 5.0) -> None:
        self.wait(timeout)
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._committed > self._synced or self._closing)
                if self._closing and self._committed <= self._synced:
                    return
                target = self._committed
            error = self._fsync()
            with self._cond:
                self._synced, self._error = target, error
                self._cond.notify_all()

    def _fsync(self) -> OSError | None:
        try:
            fd = os.open(self._wal_path, os.O_RDONLY)
        except FileNotFoundError:
            return None  # checkpointed and removed: the rows are in the (synced) database file
        except OSError as exc:
            return exc
        try:
            os.fsync(fd)  # flushes the file, whichever descriptor wrote to it
            return None
        except OSError as exc:
            return exc
        finally:
            os.close(fd)


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
            self._db.execute("PRAGMA synchronous=NORMAL")  # the WAL's fsync is the syncer's job
            self._db.executescript(_SCHEMA)
            count, size = self._db.execute(
                "SELECT COUNT(*), COALESCE(SUM(LENGTH(payload)), 0) FROM outbox").fetchone()
            row = self._db.execute("SELECT value FROM stats WHERE name = 'dropped'").fetchone()
        except (sqlite3.Error, OSError) as exc:
            raise SinkError(f"cannot open the alert outbox {self.path}: {exc}; check --outbox and disk space") from exc
        self._count, self._bytes = int(count), int(size)
        self._dropped = int(row[0]) if row else 0
        in_memory = str(path) == ":memory:"
        self._syncer = None if in_memory else _WalSyncer(Path(f"{self.path}-wal"))

    def put(self, topic: str, payload: bytes, qos: int) -> int:
        """Store one message (it survives a crash once this returns); returns its row id.

        Enforces the limits. The fsync that makes it survive a power cut follows on the sync thread.
        """
        with self._lock:
            before = (self._count, self._bytes, self._dropped)
            try:
                self._db.execute("BEGIN IMMEDIATE")
                cursor = self._db.execute(
                    "INSERT INTO outbox (topic, payload, qos, created) VALUES (?, ?, ?, ?)",
                    (topic, payload, qos, time.time()),
                )
                self._count, self._bytes = self._count + 1, self._bytes + len(payload)
                self._enforce_limits()
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._count, self._bytes, self._dropped = before
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise SinkError(f"cannot write to the alert outbox {self.path}: {exc}") from exc
        if self._syncer is not None:
            self._syncer.committed()
        return int(cursor.lastrowid)

    def wait_durable(self, timeout: float = 5.0) -> bool:
        """Wait until every message put so far is flushed to the disk; False on timeout or a disk error."""
        return True if self._syncer is None else self._syncer.wait(timeout)

    def _enforce_limits(self) -> None:
        """Inside put's transaction: drop expired rows, then the oldest beyond count and bytes."""
        limits, dropped = self.limits, 0
        cutoff = time.time() - limits.max_age_s
        oldest = self._db.execute("SELECT created FROM outbox ORDER BY id LIMIT 1").fetchone()
        if oldest is not None and oldest[0] < cutoff:
            dropped += self._delete_where("created < ?", (cutoff,))
        while self._count > limits.max_count or (self._bytes > limits.max_bytes and self._count > 1):
            excess = max(1, self._count - limits.max_count)
            dropped += self._delete_where("id IN (SELECT id FROM outbox ORDER BY id LIMIT ?)", (excess,))
        if dropped:
            self._dropped += dropped
            self._db.execute(
                "INSERT INTO stats (name, value) VALUES ('dropped', ?) "
                "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value", (dropped,))

    def _delete_where(self, condition: str, args: tuple) -> int:
        """Delete the rows matching ``condition``, keeping the in-memory count and bytes right."""
        count, size = self._db.execute(
            f"SELECT COUNT(*), COALESCE(SUM(LENGTH(payload)), 0) FROM outbox WHERE {condition}", args).fetchone()
        if count:
            self._db.execute(f"DELETE FROM outbox WHERE {condition}", args)
            self._count, self._bytes = self._count - count, self._bytes - size
        return int(count)

    def pending(self, after_id: int = 0, limit: int = 100) -> list[OutboxRow]:
        """Rows with id > ``after_id``, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, topic, payload, qos FROM outbox WHERE id > ? ORDER BY id LIMIT ?", (after_id, limit)
            ).fetchall()
        return [OutboxRow(int(r[0]), r[1], bytes(r[2]), int(r[3])) for r in rows]

    def delete(self, *row_ids: int) -> None:
        """Forget rows the broker acknowledged, all in one transaction."""
        if not row_ids:
            return
        with self._lock:
            before = (self._count, self._bytes)
            try:
                self._db.execute("BEGIN IMMEDIATE")
                for start in range(0, len(row_ids), 500):  # SQLite's bound-parameter limit
                    part = row_ids[start:start + 500]
                    self._delete_where(f"id IN ({','.join('?' * len(part))})", part)
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._count, self._bytes = before
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise SinkError(f"cannot delete from the alert outbox {self.path}: {exc}") from exc

    def contains(self, row_id: int) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM outbox WHERE id = ?", (row_id,)).fetchone() is not None

    @property
    def depth(self) -> int:
        """Messages waiting (not yet acknowledged)."""
        return self._count

    @property
    def dropped(self) -> int:
        """Rows dropped over the limits since the outbox was created."""
        return self._dropped

    def close(self) -> None:
        """Flush what is committed to the disk and close the database."""
        if self._syncer is not None:
            self._syncer.close()
        with self._lock:
            self._db.close()
