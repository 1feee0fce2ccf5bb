"""A throw-away local Mosquitto broker, run as a child process.

Used by the tests and by demos (``edgewatch demo``-style commands) that need a
real broker on 127.0.0.1 without a system service::

    with LocalBroker() as broker:
        sink = MqttSink(MqttConfig.from_url(broker.url, device_id="pump-1"))

``stop()`` / ``start()`` restart the broker on the same port, so tests can
simulate an outage. The broker's config, log and (optional) persistence file
live in a temporary directory removed by ``close()``.

A device's local broker can be bridged to a central one (see ``docs/fleet.md``)::

    with LocalBroker(persistence=True) as central:
        uplink = bridge_conf(central.host, central.port, device_id="pump-1")
        with LocalBroker(persistence=True, extra_conf=uplink) as local:
            ...  # what is published to ``local`` reaches ``central``, queued while it is down
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Mapping, Sequence

from edge.errors import BrokerError

__all__ = ["LocalBroker", "bridge_conf", "find_mosquitto", "write_password_file"]

_SBIN_PATH = os.pathsep.join(["/usr/sbin", "/usr/local/sbin", "/sbin"])
_PORT_ATTEMPTS = 5


def find_mosquitto(program: str = "mosquitto") -> str:
    """The path of ``program`` on PATH or in the sbin directories.

    Raises:
        BrokerError: it is not installed.
    """
    path = shutil.which(program, path=os.pathsep.join([os.environ.get("PATH", ""), _SBIN_PATH]))
    if path is None:
        raise BrokerError(f"{program} not found: apt-get install mosquitto")
    return path


def write_password_file(path: Path, users: Mapping[str, str]) -> Path:
    """Write a Mosquitto password file with ``mosquitto_passwd -b`` (hashed).

    Raises:
        BrokerError: ``mosquitto_passwd`` is missing or fails.
    """
    tool = find_mosquitto("mosquitto_passwd")
    path = Path(path)
    path.unlink(missing_ok=True)
    path.touch(mode=0o600)
    for user, password in users.items():
        done = subprocess.run([tool, "-b", str(path), user, password], capture_output=True, text=True)
        if done.returncode != 0:
            detail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise BrokerError(f"mosquitto_passwd failed for user {user!r}: {detail[0]}")
    return path


def bridge_conf(
    host: str,
    port: int,
    *,
    device_id: str,
    topic_prefix: str = "edgewatch",
    max_queued_messages: int = 100_000,
    restart_timeout: str = "2 60",
    cleansession: bool = False,
    try_private: bool = False,
    tls: tuple[Path, Path, Path] | None = None,
) -> list[str]:
    """Mosquitto configuration lines for a store-and-forward bridge to a central broker.

    The bridge forwards the device's own topics (``<prefix>/<device_id>/+``:
    alerts, availability, status, replies) ``out`` at QoS 1 under a persistent
    session (``cleansession false``), so QoS 1 messages published while the
    uplink is down are queued (up to ``max_queued_messages``) and sent, in
    order, when it reconnects. Add ``persistence true``
    (``LocalBroker(persistence=True)``) so the queue also survives a restart of
    the local broker. Commands (``<prefix>/<device_id>/cmd/#``) come ``in``; the
    central broker keeps them in the bridge's session while the device is away.
    The uplink's state is published, retained, on
    ``<prefix>/<device_id>/bridge/state`` (``1`` up, ``0`` down, the latter as
    the bridge's will on the central broker); it is deliberately outside the
    ``out`` pattern, else a ``0`` queued locally during an outage would be
    forwarded after the reconnection and overwrite the ``1``. The lines are the
    snippet in ``docs/fleet.md``; ``tests/test_broker_bridge.py`` runs them.

    Args:
        host: the central broker's host name or address.
        port: its MQTT port.
        device_id: the device's id; the bridge is ``edgewatch-bridge-<device_id>``
            on the central broker, which keys the session on it (unique, stable).
        topic_prefix: the topics' first level(s), as in ``MqttConfig.topic_prefix``.
        max_queued_messages: messages the local broker queues per persistent
            client (the bridge included) while it is away; beyond it new ones
            are dropped.
        restart_timeout: seconds before reconnecting: ``"N"`` or a jittered
            backoff ``"BASE CAP"``.
        cleansession: True throws the queue away whenever the uplink drops
            (only to show what False buys; the tests do).
        try_private: mark the connection as a bridge (Mosquitto extension,
            loop detection); leave False unless the central broker is Mosquitto.
        tls: ``(cafile, certfile, keyfile)``: connect over TLS, verify the central
            broker against ``cafile`` and present the device's certificate.

    Returns:
        Lines for ``LocalBroker(extra_conf=...)`` or a ``mosquitto.conf``:
        global options first, then the ``connection`` block.
    """
    lines = [
        f"max_queued_messages {max_queued_messages}",
        "queue_qos0_messages false",
        "connection edgewatch-uplink",
        f"address {host}:{port}",
        f"topic {topic_prefix}/{device_id}/+ out 1",
        f"topic {topic_prefix}/{device_id}/cmd/# in 1",
        f"cleansession {'true' if cleansession else 'false'}",
        f"remote_clientid edgewatch-bridge-{device_id}",
        "bridge_protocol_version mqttv311",
        f"try_private {'true' if try_private else 'false'}",
        f"restart_timeout {restart_timeout}",
        "notifications true",
        f"notification_topic {topic_prefix}/{device_id}/bridge/state",
    ]
    if tls is not None:
        cafile, certfile, keyfile = tls
        lines += [f"bridge_cafile {cafile}", f"bridge_certfile {certfile}", f"bridge_keyfile {keyfile}"]
    return lines


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class LocalBroker:
    """Mosquitto on ``127.0.0.1``, started and stopped as a child process.

    Args:
        port: port to listen on; a free one is picked (and re-picked if it
            turns out busy) when None. Kept across ``stop()``/``start()``.
        persistence: keep retained messages and persistent sessions across
            restarts (written to the temp dir on ``stop()``).
        password_file: a file from :func:`write_password_file`; anonymous
            clients are then refused unless ``allow_anonymous`` is True.
        allow_anonymous: defaults to True without a password file, else False.
        tls: ``(cafile, certfile, keyfile)`` to listen with TLS instead of plain TCP.
        require_certificate: with ``tls``, refuse clients without a certificate
            signed by ``cafile`` (their certificate's CN is their user name).
        start_timeout: seconds to wait for the port to accept connections.
        extra_conf: more ``mosquitto.conf`` lines, written after the ones
            LocalBroker generates (so a later ``autosave_interval`` wins), e.g.
            :func:`bridge_conf` to bridge this broker to another one.
    """

    host = "127.0.0.1"

    def __init__(
        self,
        port: int | None = None,
        *,
        persistence: bool = False,
        password_file: Path | None = None,
        allow_anonymous: bool | None = None,
        start_timeout: float = 10.0,
        tls: tuple[Path, Path, Path] | None = None,
        require_certificate: bool = False,
        extra_conf: Sequence[str] = (),
    ) -> None:
        self.tls = tls
        self.extra_conf = list(extra_conf)
        self.require_certificate = require_certificate
        self._fixed_port = port is not None
        self._port = port or 0
        self.persistence = persistence
        self.password_file = Path(password_file) if password_file else None
        self.allow_anonymous = password_file is None if allow_anonymous is None else allow_anonymous
        self.start_timeout = start_timeout
        self._dir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def port(self) -> int:
        """The listening port (0 before the first ``start``)."""
        return self._port

    @property
    def url(self) -> str:
        """``mqtt://127.0.0.1:PORT`` (``mqtts://`` with TLS)."""
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self._port}"

    @property
    def running(self) -> bool:
        """True while the child process is alive."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def log_path(self) -> Path | None:
        """Mosquitto's log (stderr), useful when a test fails."""
        return self._dir / "mosquitto.log" if self._dir else None

    def start(self) -> "LocalBroker":
        """Start the broker (again, on the same port) and wait until it accepts connections.

        Raises:
            BrokerError: mosquitto is missing, exits, or does not listen in time.
        """
        if self.running:
            return self
        exe = find_mosquitto()
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="edgewatch-mosquitto-"))
        may_move = not (self._fixed_port or self._port)  # a restart keeps its port
        for _ in range(_PORT_ATTEMPTS if may_move else 1):
            if may_move:
                self._port = _free_port(self.host)
            outcome = self._launch(exe)
            if outcome == "ready":
                return self
            if outcome != "busy":
                break
        if outcome == "busy":
            outcome = "port already in use"
        raise BrokerError(f"mosquitto could not start on {self.host}:{self._port}: {outcome}")

    def _write_conf(self) -> Path:
        assert self._dir is not None
        lines = [
            f"listener {self._port} {self.host}",
            f"allow_anonymous {'true' if self.allow_anonymous else 'false'}",
            f"persistence {'true' if self.persistence else 'false'}",
            f"persistence_location {self._dir}/",
            "autosave_interval 0",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
        ]
        if self.password_file is not None:
            lines.append(f"password_file {self.password_file}")
        if self.tls is not None:
            cafile, certfile, keyfile = self.tls
            lines += [f"cafile {cafile}", f"certfile {certfile}", f"keyfile {keyfile}"]
            if self.require_certificate:
                lines += ["require_certificate true", "use_identity_as_username true"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            lines.append("user root")  # else mosquitto drops to user 'mosquitto', who cannot write our temp dir
        lines += self.extra_conf  # last: bridge blocks must follow the global options
        conf = self._dir / "mosquitto.conf"
        conf.write_text("\n".join(lines) + "\n")
        return conf

    def _launch(self, exe: str) -> str:
        """Start one child; return ``"ready"``, ``"busy"`` or a one-line reason."""
        conf = self._write_conf()
        log_path = self.log_path
        assert log_path is not None
        with open(log_path, "ab") as log_file:
            self._proc = subprocess.Popen(
                [exe, "-c", str(conf)], stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file
            )
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                return self._exit_reason()
            try:
                with socket.create_connection((self.host, self._port), timeout=0.2):
                    pass
            except OSError:
                time.sleep(0.005)
                continue
            if self._proc.poll() is None:
                return "ready"
        self._terminate(kill=True)
        return f"not listening after {self.start_timeout:g}s (log: {log_path})"

    def _exit_reason(self) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path else ""
        errors = [line.split(": ", 1)[-1] for line in text.splitlines() if "Error" in line]
        if any("Address already in use" in e for e in errors):
            return "busy"
        return errors[-1] if errors else f"exited with code {self._proc.returncode if self._proc else '?'}"

    def stop(self, *, kill: bool = False, timeout: float = 5.0) -> None:
        """Stop the broker, keeping its port and temp dir for ``start()``.

        Args:
            kill: SIGKILL instead of SIGTERM (no persistence save, like a crash).
            timeout: seconds to wait after SIGTERM before killing.
        """
        self._terminate(kill=kill, timeout=timeout)

    def _terminate(self, kill: bool = False, timeout: float = 5.0) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def close(self) -> None:
        """Stop the broker and remove its temp dir."""
        self._terminate()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> "LocalBroker":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LocalBroker({self.url}, {'running' if self.running else 'stopped'})"
