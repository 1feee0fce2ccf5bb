"""A simulated microcontroller behind a real pseudo-terminal, for the serial tests and the serial recipe.

``FakeUart`` owns a pty pair and a stable symlink to its slave (as udev's /dev/serial/by-id
links are); ``unplug``/``plug`` close the pair and make a new one behind the same link. The MCU
is a child process that writes pre-built byte pieces to the pty master at a fixed rate.
"""

from __future__ import annotations

import csv
import os
import pty
import struct
import subprocess
import sys
import time
import tty
from pathlib import Path

import numpy as np

__all__ = ["FakeUart", "stream_rows", "wait_for_message"]

# The simulated MCU: writes length-prefixed pieces from a file to an inherited fd, piece i at t0 + i/rate.
MCU = r"""
import os, struct, sys, time
fd, path, rate, loop = int(sys.argv[1]), sys.argv[2], float(sys.argv[3]), sys.argv[4] == "loop"
raw, pieces, pos = open(path, "rb").read(), [], 0
while pos < len(raw):
    (n,) = struct.unpack_from("<I", raw, pos); pieces.append(raw[pos + 4:pos + 4 + n]); pos += 4 + n
t0, i = time.monotonic(), 0
while True:
    for piece in pieces:
        delay = t0 + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        view = memoryview(piece)
        while view:
            view = view[os.write(fd, view):]
        i += 1
    if not loop:
        break
"""


class FakeUart:
    """A pty pair behind a stable symlink, and a simulated MCU writing to its master."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.link = root / "ttyMCU"
        self.master: int | None = None
        self.sims: list[subprocess.Popen] = []
        self.plug()

    def plug(self) -> None:
        master, slave = pty.openpty()
        tty.setraw(slave)
        name = os.ttyname(slave)
        os.close(slave)
        if self.link.is_symlink():
            self.link.unlink()
        self.link.symlink_to(name)
        self.master = master

    def unplug(self) -> None:
        self.link.unlink()
        os.close(self.master)
        self.master = None

    def send(self, pieces: list[bytes], rate: float, loop: bool = False) -> subprocess.Popen:
        """Start the MCU writing ``pieces`` at ``rate`` pieces per second."""
        path = self.root / f"pieces-{len(self.sims)}.bin"
        path.write_bytes(b"".join(struct.pack("<I", len(p)) + p for p in pieces))
        sim = subprocess.Popen([sys.executable, "-c", MCU, str(self.master), str(path), str(rate),
                                "loop" if loop else "once"], pass_fds=(self.master,))
        self.sims.append(sim)
        return sim

    def close(self) -> None:
        for sim in self.sims:
            if sim.poll() is None:
                sim.kill()
            sim.wait()
        if self.master is not None:
            self.unplug()


def stream_rows(csv_path: Path, columns, start: int, stop: int) -> np.ndarray:
    with open(csv_path, newline="") as handle:
        rows = list(csv.DictReader(handle))[start:stop]
    return np.array([[float(r[c]) for c in columns] for r in rows], dtype=np.float32)


def wait_for_message(collector, predicate, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in collector.messages:
            if predicate(message):
                return message
        time.sleep(0.02)
    raise TimeoutError(f"no matching message in {timeout}s: {[(m.topic, m.text[:60]) for m in collector.messages]}")
