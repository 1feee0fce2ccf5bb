"""Pacing a replay at the data's own rate (``--rate real``), shared by every file source."""

from __future__ import annotations

import threading
import time

__all__ = ["Pacer"]


class Pacer:
    """Sleeps until the wall clock has advanced as far as the data has since the first call."""

    def __init__(self) -> None:
        self._wall0: float | None = None
        self._data0: float | None = None

    def wait_until(self, data_time: float, stop: threading.Event, origin: float | None = None) -> None:
        """Return once ``data_time`` (seconds) is due, or at once if ``stop`` is set.

        The first call fixes the origin: ``origin`` if given (the first sample's time), else ``data_time``.
        """
        now = time.monotonic()
        if self._wall0 is None or self._data0 is None:
            self._wall0, self._data0 = now, data_time if origin is None else origin
        due = self._wall0 + (data_time - self._data0)
        if due > now:
            stop.wait(due - now)
