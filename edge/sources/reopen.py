"""Reopening a live device that went away: retry with a doubling wait until it opens, closes, or time runs out.

Shared by the microphone, camera and serial sources so they back off the same way.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from edge.errors import SourceError

__all__ = ["Backoff", "reopen_with_backoff"]

T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    """Retry policy: first wait ``first_s``, doubled after each failure up to ``most_s``, giving up after ``within_s``."""

    within_s: float
    first_s: float = 0.1
    most_s: float = 2.0


def reopen_with_backoff(open_once: Callable[[], T], closed: threading.Event, backoff: Backoff,
                        give_up: Callable[[SourceError], SourceError],
                        on_failure: Callable[[SourceError], None] | None = None) -> T | None:
    """What ``open_once`` returns once it stops raising ``SourceError``; ``None`` if ``closed`` is set first.

    Raises ``give_up(last error)`` when the next wait would end past ``within_s`` from now.
    """
    deadline, delay = time.monotonic() + backoff.within_s, backoff.first_s
    while not closed.is_set():
        try:
            return open_once()
        except SourceError as exc:
            if on_failure is not None:
                on_failure(exc)
            if time.monotonic() + delay > deadline:
                raise give_up(exc) from exc
            closed.wait(delay)
            delay = min(delay * 2, backoff.most_s)
    return None
