"""The shared reopen loop: retries with a doubling wait, stops when closed, gives up past its deadline."""

from __future__ import annotations

import threading
import time

import pytest

from edge.errors import SourceError
from edge.sources.reopen import Backoff, reopen_with_backoff


def _opener(failures: int):
    calls = []

    def open_once():
        calls.append(time.monotonic())
        if len(calls) <= failures:
            raise SourceError(f"not yet ({len(calls)})")
        return "port"

    return open_once, calls


def test_returns_what_opened_after_failures_with_doubling_waits():
    open_once, calls = _opener(3)
    seen = []
    got = reopen_with_backoff(open_once, threading.Event(), Backoff(5.0, first_s=0.02, most_s=0.05),
                              lambda exc: SourceError("gave up"), seen.append)
    assert got == "port" and len(calls) == 4 and [str(e) for e in seen] == ["not yet (1)", "not yet (2)", "not yet (3)"]
    waits = [b - a for a, b in zip(calls, calls[1:])]
    assert waits[0] >= 0.02 and waits[1] >= 0.04 and waits[2] >= 0.05  # 0.02, 0.04, then capped at 0.05


def test_gives_up_with_the_callers_error_naming_the_last_failure():
    open_once, calls = _opener(1000)
    with pytest.raises(SourceError, match=r"gone: not yet \(\d+\)") as info:
        reopen_with_backoff(open_once, threading.Event(), Backoff(0.1, first_s=0.01, most_s=0.02),
                            lambda exc: SourceError(f"gone: {exc}"))
    assert isinstance(info.value.__cause__, SourceError) and 3 <= len(calls) < 50


def test_closing_stops_the_loop_without_an_error():
    open_once, calls = _opener(1000)
    closed = threading.Event()
    threading.Timer(0.1, closed.set).start()
    started = time.monotonic()
    assert reopen_with_backoff(open_once, closed, Backoff(60.0, first_s=0.01, most_s=0.02),
                               lambda exc: SourceError("gave up")) is None
    assert time.monotonic() - started < 1.0 and calls
