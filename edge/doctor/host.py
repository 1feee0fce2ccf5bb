"""Checks of the machine itself: platform, backends, optional device extras, the clock."""

from __future__ import annotations

import datetime as dt
import glob
import importlib
import platform
import shutil
import subprocess
import sys
import time

from edge.backends import BACKENDS, PREFERENCE, probe_backend
from edge.doctor.base import Check, Level
from edge.errors import MissingDependencyError

__all__ = ["check_platform", "check_backends", "check_extras", "check_clock", "CLOCK_FLOOR"]

CLOCK_FLOOR = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)  # no clock is right before this release


def check_platform() -> Check:
    machine, python = platform.machine(), ".".join(map(str, sys.version_info[:3]))
    if machine in ("armv7l", "armv6l", "armhf"):
        return Check("platform", Level.FAIL, f"{machine}, Python {python}: no LiteRT or onnxruntime wheels for "
                     "32-bit ARM", "flash the 64-bit Raspberry Pi OS (aarch64)")
    return Check("platform", Level.OK, f"{machine}, Python {python}")


def check_backends(formats_needed: set[str]) -> list[Check]:
    """One line per backend; a missing one is a problem only if nothing else runs its format."""
    found: dict[str, str] = {}
    missing: dict[str, str] = {}
    for name in PREFERENCE:
        try:
            found[name] = probe_backend(name)
        except MissingDependencyError as exc:
            missing[name] = str(exc)
    covered = {BACKENDS[name].format for name in found}
    checks = [Check("backend", Level.OK, f"{name} {version}") for name, version in found.items()]
    for name, reason in missing.items():
        fmt = BACKENDS[name].format
        needed = fmt in formats_needed and fmt not in covered
        checks.append(Check("backend", Level.FAIL if needed else Level.OK,
                            f"{name}: not installed" + ("" if needed else " (optional)"),
                            reason.split(": ", 1)[-1] if needed else None))
    if not found:
        checks.append(Check("backend", Level.FAIL, "no inference backend is installed", "pip install edgewatch"))
    return checks


def _optional(module: str, extra: str, needed: bool, area: str, detail, kind: str) -> Check:
    try:
        imported = importlib.import_module(module)
    except ImportError:
        fix = f"pip install 'edgewatch[{extra}]'"
        level = Level.FAIL if needed else Level.OK
        return Check(area, level, f"not installed: {fix}" + ("" if needed else f" (only for {kind}: sources)"),
                     fix if needed else None)
    except OSError as exc:  # sounddevice without PortAudio
        return Check(area, Level.FAIL if needed else Level.WARN, f"{module} cannot load: {exc}",
                     "apt install libportaudio2")
    return Check(area, Level.OK, detail(imported))


def _audio_detail(sd) -> str:
    try:
        inputs = [d for d in sd.query_devices() if d.get("max_input_channels", 0) > 0]
    except Exception as exc:  # PortAudio errors are its own type
        return f"sounddevice {sd.__version__}; cannot list devices ({exc})"
    return f"sounddevice {sd.__version__}, {len(inputs)} input device(s)"


def _camera_detail(cv2) -> str:
    return f"OpenCV {cv2.__version__}, {len(glob.glob('/dev/video*'))} /dev/video* device(s)"


def _serial_detail(serial) -> str:
    from serial.tools import list_ports

    ports = [p.device for p in list_ports.comports()]
    return f"pyserial {serial.__version__}, ports: {', '.join(ports) or 'none found'}"


def check_extras(source_kind: str | None) -> list[Check]:
    """Audio, camera and serial support: FAIL only when the configured source needs the missing one."""
    return [
        _optional("sounddevice", "audio", source_kind == "mic", "audio", _audio_detail, "mic"),
        _optional("cv2", "camera", source_kind == "camera", "camera", _camera_detail, "camera"),
        _optional("serial", "serial", source_kind == "serial", "serial", _serial_detail, "serial"),
    ]


def _ntp_synchronized() -> str | None:
    if not shutil.which("timedatectl"):
        return None
    try:
        done = subprocess.run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"], capture_output=True,
                              text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() in ("yes", "no") else None


def check_clock(not_before: dt.datetime | None = None, now: float | None = None) -> Check:
    """The clock must not be behind this release or the bundle; NTP should be synchronised.

    A Raspberry Pi has no real-time clock: until NTP answers it may think it is
    an earlier day, which breaks TLS (certificates "not yet valid") and every timestamp.
    """
    current = dt.datetime.fromtimestamp(time.time() if now is None else now, dt.timezone.utc)
    floor = max(CLOCK_FLOOR, not_before) if not_before else CLOCK_FLOOR
    if current < floor:
        return Check("clock", Level.FAIL, f"the clock reads {current:%Y-%m-%d %H:%M} UTC, before {floor:%Y-%m-%d}",
                     "enable time sync (timedatectl set-ntp true) and check the network; TLS needs a right clock")
    synced = _ntp_synchronized()
    if synced == "no":
        return Check("clock", Level.WARN, f"{current:%Y-%m-%d %H:%M} UTC, not synchronised by NTP",
                     "timedatectl set-ntp true (and reach an NTP server)")
    state = "NTP synchronised" if synced == "yes" else "NTP state unknown (no timedatectl/systemd)"
    return Check("clock", Level.OK, f"{current:%Y-%m-%d %H:%M} UTC, {state}")
