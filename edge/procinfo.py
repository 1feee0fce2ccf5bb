"""Facts about the running process that the standard library does not give directly."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["seconds_since_process_start"]


def seconds_since_process_start() -> float | None:
    """Seconds since the kernel started this process (Linux ``/proc``; 10 ms resolution), else None.

    Counts the interpreter's own start-up and imports, which a timer started in
    ``main()`` would miss: this is what "first inference within 1 s of process start" means.
    """
    try:
        stat = Path("/proc/self/stat").read_text()
        start_ticks = int(stat.rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return None
