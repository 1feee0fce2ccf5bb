"""A real microphone without hardware: a user-mode PulseAudio whose default input is fed by ``paplay``.

PulseAudio runs as a child process with its runtime files in a temp dir: a
unix socket, a mono null sink ``vmic_sink``, and ``vmic``, a source
remapped from the sink's monitor, set as the default input. The sink runs at
44.1 kHz, a common native rate of USB microphones; PortAudio opens the default
device at that rate too, so PulseAudio passes the samples through and the
``mic`` source's own resampler does the conversion to the model's rate. PortAudio reaches
it through ALSA's pulse plugin (Debian: pulseaudio, pulseaudio-utils,
libasound2-plugins, libportaudio2), so ``mic`` sources meet a real PortAudio
stream. ``PULSE_SERVER`` must name the socket before PortAudio initialises.
Measured: the first ~200 samples of each paplay are lost and the first block
arrives 0.6-1.9 s after a stream starts. Used by the tests and by benchmarks/sources.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

__all__ = ["VirtualMic", "pulseaudio_missing"]

CONFIG = """\
load-module module-native-protocol-unix auth-anonymous=1 socket={socket}
load-module module-null-sink sink_name=vmic_sink rate={rate} channels=1 format=s16le
load-module module-remap-source master=vmic_sink.monitor source_name=vmic channels=1
set-default-source vmic
set-default-sink vmic_sink
"""


def pulseaudio_missing() -> str | None:
    """Why the virtual microphone cannot run here, or None."""
    for tool in ("pulseaudio", "paplay", "pactl"):
        if shutil.which(tool) is None:
            return f"{tool} is missing: apt install pulseaudio pulseaudio-utils (bash scripts/setup.sh does)"
    return None


class VirtualMic:
    """Start, stop and restart the PulseAudio child; ``play`` a WAV into the microphone."""

    def __init__(self, rate: int = 44100) -> None:
        self.rate = rate
        self.root = Path(tempfile.mkdtemp(prefix="edgewatch-pulse-"))
        self.socket = self.root / "native"
        (self.root / "pa.conf").write_text(CONFIG.format(socket=self.socket, rate=rate), encoding="utf-8")
        self._process: subprocess.Popen | None = None

    @property
    def server(self) -> str:
        """The ``PULSE_SERVER`` value that reaches this instance."""
        return f"unix:{self.socket}"

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "PULSE_SERVER": self.server, "HOME": str(self.root),
                "XDG_RUNTIME_DIR": str(self.root), "PULSE_RUNTIME_PATH": str(self.root)}

    def start(self, timeout: float = 10.0) -> "VirtualMic":
        self.socket.unlink(missing_ok=True)
        self._process = subprocess.Popen(
            ["pulseaudio", "--daemonize=no", "--system=false", "-n", "-F", str(self.root / "pa.conf"),
             "--exit-idle-time=-1", "--use-pid-file=no", "--disable-shm=yes", "--log-target=stderr"],
            env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=(self.root / "pulseaudio.log").open("ab"))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"pulseaudio exited: {(self.root / 'pulseaudio.log').read_text()[-2000:]}")
            if self.socket.exists() and subprocess.run(["pactl", "info"], env=self.env, capture_output=True,
                                                       timeout=5).returncode == 0:
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"pulseaudio did not answer within {timeout} s")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def recorders(self) -> int:
        """Client streams recording from the microphone now (PortAudio's; not PulseAudio's own remap)."""
        done = subprocess.run(["pactl", "list", "short", "source-outputs"], env=self.env, capture_output=True,
                              text=True, timeout=10)
        return sum("protocol-native" in line for line in done.stdout.splitlines())

    def wait_for_recorder(self, timeout: float = 30.0) -> float:
        """Block until a client records from the microphone; returns the seconds waited."""
        began = time.monotonic()
        while self.recorders() == 0:
            if time.monotonic() - began > timeout:
                raise TimeoutError(f"nothing started recording from the virtual microphone within {timeout} s")
            time.sleep(0.05)
        return time.monotonic() - began

    def play(self, wav: Path) -> subprocess.Popen:
        """Start feeding ``wav`` to the microphone in real time; returns the paplay process."""
        return subprocess.Popen(["paplay", "--device=vmic_sink", str(wav)], env=self.env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "VirtualMic":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()
