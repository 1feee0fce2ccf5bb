"""Where and how the MQTT sink connects: one typed object behind flags and config files."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from edge.errors import ConfigError

__all__ = ["MqttConfig", "PROTOCOLS"]

PROTOCOLS = ("5", "3.1.1")
_TOPIC_FORBIDDEN = set("+#/\0")


@dataclass(frozen=True)
class MqttConfig:
    """Where and how the MQTT sink connects.

    Attributes:
        host: broker host name or IP address.
        port: broker TCP port.
        device_id: the device's id; one topic level, so no ``/``, ``+`` or ``#``.
        topic_prefix: first topic level(s), e.g. ``edgewatch`` or ``site1/edgewatch``.
        client_id: MQTT client id; ``edgewatch-<device_id>`` when None.
        qos: QoS of alert messages (0, 1 or 2).
        keepalive: seconds between keepalive pings.
        connect_timeout: seconds ``open`` waits for the TCP connection and the CONNACK.
        username: optional user name.
        password: optional password; never logged and left out of ``repr``.
        protocol: ``"5"`` (default) or ``"3.1.1"``.
        inflight: most alerts handed to paho and not yet acknowledged; the rest
            wait in the outbox on disk.
        tls: connect over TLS (``mqtts://``); the server certificate and its
            host name are verified against ``ca_file`` (or the system CAs).
        ca_file: CA certificate(s) that signed the broker's certificate.
        cert_file: client certificate, for brokers that require one.
        key_file: the client certificate's private key.
        insecure: skip the host name check (the certificate chain is still
            verified); for lab set-ups only, and it says so loudly.
        homeassistant: publish Home Assistant discovery after every connect.
        discovery_prefix: Home Assistant's discovery prefix.
    """

    host: str
    port: int = 1883
    device_id: str = "edge"
    topic_prefix: str = "edgewatch"
    client_id: str | None = None
    qos: int = 1
    keepalive: int = 30
    connect_timeout: float = 10.0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    protocol: str = "5"
    inflight: int = 20
    tls: bool = False
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    insecure: bool = False
    homeassistant: bool = True
    discovery_prefix: str = "homeassistant"

    def __post_init__(self) -> None:
        if not self.host:
            raise ConfigError("MQTT host is empty: pass --mqtt mqtt://HOST:PORT")
        if not 0 < self.port < 65536:
            raise ConfigError(f"MQTT port {self.port} is out of range 1-65535")
        if not self.device_id or _TOPIC_FORBIDDEN & set(self.device_id):
            raise ConfigError(f"device id {self.device_id!r} must be non-empty without '/', '+', '#'")
        if not self.topic_prefix or set("+#\0") & set(self.topic_prefix):
            raise ConfigError(f"topic prefix {self.topic_prefix!r} must be non-empty without '+', '#'")
        if self.qos not in (0, 1, 2):
            raise ConfigError(f"MQTT qos must be 0, 1 or 2, not {self.qos!r}")
        if self.protocol not in PROTOCOLS:
            raise ConfigError(f"MQTT protocol must be one of {', '.join(PROTOCOLS)}, not {self.protocol!r}")
        if self.connect_timeout <= 0 or self.keepalive <= 0 or self.inflight < 1:
            raise ConfigError("MQTT connect_timeout, keepalive and inflight must be > 0")
        self._check_tls()

    def _check_tls(self) -> None:
        uses_tls_files = self.ca_file or self.cert_file or self.key_file or self.insecure
        if uses_tls_files and not self.tls:
            raise ConfigError("TLS files or --insecure given for a plain mqtt:// URL; use mqtts://HOST:PORT")
        if bool(self.cert_file) != bool(self.key_file):
            raise ConfigError("a client certificate needs both a certificate file and a key file")
        for label, path in (("CA file", self.ca_file), ("client certificate", self.cert_file),
                            ("client key", self.key_file)):
            if path and not Path(path).is_file():
                raise ConfigError(f"MQTT {label} {path} does not exist")

    @classmethod
    def from_url(cls, url: str, device_id: str, **options: Any) -> "MqttConfig":
        """Build a config from ``mqtt[s]://[user[:password]@]host[:port]``.

        Args:
            url: the broker URL; only the ``mqtt://`` scheme is supported.
            device_id: the device's id.
            **options: any other field; ``username``/``password`` override the URL's.
                Default ports: 1883 for mqtt://, 8883 for mqtts://.

        Raises:
            ConfigError: the URL is malformed or uses another scheme.
        """
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise ConfigError(f"bad MQTT URL {url!r}: {exc}; expected mqtt://HOST:PORT") from None
        if parts.scheme not in ("mqtt", "mqtts"):
            raise ConfigError(f"bad MQTT URL {url!r}: scheme must be mqtt:// or mqtts://")
        if not parts.hostname or parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ConfigError(f"bad MQTT URL {url!r}: expected mqtt://HOST:PORT")
        creds = {}
        if parts.username is not None:
            creds["username"] = unquote(parts.username)
        if parts.password is not None:
            creds["password"] = unquote(parts.password)
        tls = parts.scheme == "mqtts"
        default_port = 8883 if tls else 1883
        return cls(host=parts.hostname, port=port or default_port, device_id=device_id, tls=tls,
                   **{**creds, **options})

    @property
    def address(self) -> str:
        """``host:port`` for messages (never includes credentials)."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def topic(self, leaf: str) -> str:
        """The topic ``<prefix>/<device>/<leaf>``."""
        return f"{self.topic_prefix.rstrip('/')}/{self.device_id}/{leaf}"
