"""Typed settings of ``edge-infer``: one object filled by a TOML file, then by command-line flags.

Example ``edgewatch.toml`` (every key optional; flags override the file)::

    bundle = "/var/lib/edgewatch/bundle"
    source = "file:/data/pump.csv"
    device_id = "pump-1"
    rate = "real"
    outbox = "/var/lib/edgewatch/outbox.sqlite"
    outbox_max_count = 100000     # oldest alerts beyond these bounds are dropped and counted
    outbox_max_bytes = 67108864
    outbox_max_age_s = 2592000
    backend = "litert"    # or tflite_runtime / onnxruntime; default: the first that is installed

    [decision]
    threshold = 0.05      # else the bundle's calibrated one
    k = 3
    n = 5
    cooldown_s = 60
    release = 10

    [mqtt]
    url = "mqtts://broker.lan:8883"
    topic_prefix = "edgewatch"
    protocol = "5"        # or "3.1.1"
    username = "pump-1"   # or username_env / password_env (default EDGEWATCH_MQTT_USERNAME / _PASSWORD)
    password = "..."      # keep the file readable by its owner only
    ca_file = "/etc/edgewatch/ca.crt"
    cert_file = "/etc/edgewatch/pump-1.crt"
    key_file = "/etc/edgewatch/pump-1.key"
    insecure = false

    [update]              # signed model updates over MQTT (cmd/update); off without trusted_keys
    trusted_keys = ["0dGvVwZ2hAiRmo8o..."]   # public keys printed by "edgewatch keygen" (base64)
    dir = "/var/lib/edgewatch/bundles"       # default: beside the outbox
    max_bytes = 67108864                     # largest bundle archive accepted
    ca_file = "/etc/edgewatch/ca.crt"        # for https:// URLs signed by a private CA
    probation_windows = 10                   # windows the old model stays ready after a swap
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from edge.errors import ConfigError
from edge.outbox import OutboxLimits
from edge.sinks.mqtt_config import MqttConfig

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["InferSettings", "MqttSettings", "UpdateSettings"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MqttSettings:
    """The ``[mqtt]`` table; credentials come from here or from environment variables."""

    url: str | None = None
    topic_prefix: str = "edgewatch"
    protocol: str = "5"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    username_env: str = "EDGEWATCH_MQTT_USERNAME"
    password_env: str = "EDGEWATCH_MQTT_PASSWORD"
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    insecure: bool = False
    keepalive: int = 30

    def config(self, device_id: str) -> MqttConfig | None:
        """The sink's config, or None when no broker URL is set (alerts go to stdout)."""
        if self.url is None:
            return None
        return MqttConfig.from_url(
            self.url, device_id=device_id, topic_prefix=self.topic_prefix, protocol=self.protocol,
            username=os.environ.get(self.username_env) or self.username,
            password=os.environ.get(self.password_env) or self.password,
            ca_file=self.ca_file, cert_file=self.cert_file, key_file=self.key_file,
            insecure=self.insecure, keepalive=self.keepalive,
        )


@dataclass(frozen=True)
class UpdateSettings:
    """The ``[update]`` table: who may sign bundles, where they are kept, and bounds."""

    trusted_keys: tuple[str, ...] = ()
    dir: Path | None = None
    max_bytes: int = 64 * 1024 * 1024
    ca_file: str | None = None
    probation_windows: int = 10
    download_timeout_s: float = 60.0

    def __post_init__(self) -> None:
        if isinstance(self.trusted_keys, str) or not all(isinstance(k, str) for k in self.trusted_keys):
            raise ConfigError("[update] trusted_keys must be a list of base64 public keys from 'edgewatch keygen'")
        object.__setattr__(self, "trusted_keys", tuple(self.trusted_keys))
        if self.dir is not None:
            object.__setattr__(self, "dir", Path(self.dir))
        if self.max_bytes <= 0 or self.probation_windows < 0 or self.download_timeout_s <= 0:
            raise ConfigError("[update] max_bytes and download_timeout_s must be > 0, probation_windows >= 0")

    @property
    def enabled(self) -> bool:
        return bool(self.trusted_keys)


@dataclass(frozen=True)
class InferSettings:
    """Everything ``edge-infer`` takes."""

    bundle: Path | None = None
    source: str | None = None
    device_id: str = "edge"
    variant: str | None = None
    backend: str | None = None
    rate: str = "max"
    threshold: float | None = None
    k: int | None = None
    n: int | None = None
    cooldown_s: float | None = None
    release: int | None = None
    end_ratio: float | None = None
    outbox: Path | None = None
    outbox_max_count: int = OutboxLimits.max_count
    outbox_max_bytes: int = OutboxLimits.max_bytes
    outbox_max_age_s: float = OutboxLimits.max_age_s
    mqtt: MqttSettings = field(default_factory=MqttSettings)
    update: UpdateSettings = field(default_factory=UpdateSettings)

    def state_dir(self) -> Path:
        """``$XDG_STATE_HOME/edgewatch/<device>`` (``~/.local/state`` by default; ``/var/lib`` under systemd)."""
        state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
        return Path(state) / "edgewatch" / self.device_id

    def outbox_path(self) -> Path:
        return self.outbox or self.state_dir() / "outbox.sqlite"

    def update_dir(self) -> Path:
        return self.update.dir or self.state_dir() / "bundles"

    def outbox_limits(self) -> OutboxLimits:
        return OutboxLimits(self.outbox_max_count, self.outbox_max_bytes, self.outbox_max_age_s)

    @classmethod
    def from_toml(cls, path: Path) -> "InferSettings":
        """Read a TOML file; unknown keys are errors (they are usually typos)."""
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
        mqtt = _take(MqttSettings, data.pop("mqtt", {}), f"{path.name} [mqtt]")
        if mqtt.get("password") and path.stat().st_mode & 0o077:
            log.warning("config file %s holds an MQTT password and is readable by others: chmod 600 it", path)
        update = _take(UpdateSettings, data.pop("update", {}), f"{path.name} [update]")
        decision = data.pop("decision", {})
        flat = {**_take(cls, data, path.name), **_decision_keys(decision, path.name)}
        for key in ("bundle", "outbox"):
            if flat.get(key) is not None:
                flat[key] = Path(flat[key])
        return cls(**flat, mqtt=MqttSettings(**mqtt), update=UpdateSettings(**update))

    def with_overrides(self, mqtt: dict[str, Any] | None = None, **flags: Any) -> "InferSettings":
        """A copy with every flag that was given (not None) taking precedence."""
        given = {k: v for k, v in flags.items() if v is not None}
        given_mqtt = {k: v for k, v in (mqtt or {}).items() if v is not None}
        return replace(self, **given, mqtt=replace(self.mqtt, **given_mqtt))


def _take(cls: type, table: dict, where: str) -> dict:
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table")
    known = {f.name for f in fields(cls)} - {"mqtt", "update"}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return dict(table)


def _decision_keys(table: dict, where: str) -> dict:
    known = {"threshold", "k", "n", "cooldown_s", "release", "end_ratio"}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(f"{where} [decision]: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return dict(table)
