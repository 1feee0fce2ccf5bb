"""The files ``edgewatch service install`` writes: a systemd unit, a config and an environment file.

The unit runs ``edge-infer --config`` as an unprivileged system user, restarts
it on failure, keeps its state (outbox, updated bundles) in ``/var/lib/edgewatch/<device>``
and its caches in ``/var/cache/edgewatch``, and reads secrets from an
environment file that only root can read (systemd reads it before dropping
privileges). Nothing secret is ever written into the unit.
"""

from __future__ import annotations

import grp
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from edge.errors import ConfigError

__all__ = ["ServicePlan", "plan_service", "write_service", "DEVICE_GROUPS"]

DEVICE_GROUPS = ("dialout", "audio", "video", "gpio", "i2c", "spi")  # serial, mic, camera, Pi headers


@dataclass(frozen=True)
class ServicePlan:
    """Everything to write, as (path, text, mode, overwrite) with paths under ``prefix``."""

    name: str
    user: str
    files: tuple[tuple[Path, str, int, bool], ...]
    groups: tuple[str, ...]
    notes: tuple[str, ...]


def _edge_infer() -> Path:
    beside = Path(sys.executable).with_name("edge-infer")
    found = beside if beside.exists() else shutil.which("edge-infer")
    if not found:
        raise ConfigError("edge-infer is not installed here: pip install edgewatch, then run this again")
    return Path(found).absolute()


def _unreadable_parent(path: Path) -> Path | None:
    """The first directory above ``path`` that other users cannot enter (e.g. a 0700 home)."""
    for parent in path.parents:
        if parent.exists() and not parent.stat().st_mode & 0o001:
            return parent
    return None


def unit_text(name: str, user: str, edge_infer: Path, config: Path, env_file: Path, groups: tuple[str, ...]) -> str:
    home_protection = "read-only" if str(edge_infer).startswith(("/home/", "/root/")) else "yes"
    supplementary = f"SupplementaryGroups={' '.join(groups)}\n" if groups else ""
    return f"""[Unit]
Description=edgewatch anomaly detection ({name})
Wants=network-online.target
After=network-online.target time-sync.target
StartLimitIntervalSec=300
StartLimitBurst=10

[Service]
Type=simple
User={user}
Group={user}
{supplementary}ExecStart={edge_infer} --config {config} --quiet
EnvironmentFile={env_file}
Environment=PYTHONUNBUFFERED=1
Environment=XDG_STATE_HOME=%S
Environment=XDG_CACHE_HOME=%C
StateDirectory=edgewatch
CacheDirectory=edgewatch
Restart=on-failure
RestartSec=5
# SIGTERM: stop the source, finish the window in flight, close open events, wait up to 10 s
# for the broker to acknowledge (the rest stays in the outbox on disk) and say offline.
KillSignal=SIGTERM
TimeoutStopSec=30
UMask=0027
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome={home_protection}
PrivateTmp=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictSUIDSGID=yes
RestrictRealtime=yes
RestrictNamespaces=yes
LockPersonality=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK
CapabilityBoundingSet=
AmbientCapabilities=
SystemCallArchitectures=native

[Install]
WantedBy=multi-user.target
"""


def config_text(name: str, device_id: str, bundle: Path) -> str:
    return f"""# edgewatch.toml for the {name} service: every key of edge-infer's flags (see edge/settings.py).
# Secrets do not belong here: put them in the environment file next to this one.
bundle = "{bundle}"
source = "serial:/dev/ttyACM0?baud=115200&format=frames"   # or file:/path.csv
device_id = "{device_id}"
rate = "real"

[mqtt]
url = "mqtts://broker.lan:8883"
# ca_file = "/etc/{name}/ca.crt"

[update]
# trusted_keys = ["..."]   # from 'edgewatch keygen' on your host; enables signed updates over cmd/update
# dir = "/var/lib/edgewatch/{device_id}/bundles"   # the default
"""


ENV_TEXT = """# Secrets for edge-infer, read by systemd as root before it drops privileges (mode 600).
# EDGEWATCH_MQTT_USERNAME=pump-1
# EDGEWATCH_MQTT_PASSWORD=
"""


def plan_service(name: str, user: str, device_id: str, prefix: Path, etc: Path = Path("/etc")) -> ServicePlan:
    """Work out the files and groups for a service; nothing is written."""
    if not name.replace("-", "").replace("_", "").isalnum() or not user.replace("-", "").replace("_", "").isalnum():
        raise ConfigError("--name and --user take letters, digits, '-' and '_' only")
    edge_infer = _edge_infer()
    config_dir = etc / name
    groups = tuple(g for g in DEVICE_GROUPS if _group_exists(g))
    config, env_file = config_dir / f"{name}.toml", config_dir / f"{name}.env"
    unit = unit_text(name, user, edge_infer, config, env_file, groups)
    files = (
        (_under(prefix, etc / "systemd" / "system" / f"{name}.service"), unit, 0o644, True),
        (_under(prefix, config), config_text(name, device_id, Path("/var/lib/edgewatch/bundle")), 0o640, False),
        (_under(prefix, env_file), ENV_TEXT, 0o600, False),
    )
    notes = []
    blocked = _unreadable_parent(edge_infer)
    if blocked is not None:
        notes.append(f"warning: {blocked} is closed to other users, so the {user} user cannot run {edge_infer}; "
                     f"install edgewatch in a venv under /opt (python3 -m venv /opt/edgewatch)")
    return ServicePlan(name, user, files, groups, tuple(notes))


def _under(prefix: Path, path: Path) -> Path:
    return prefix / path.relative_to("/")


def _group_exists(name: str) -> bool:
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


def write_service(plan: ServicePlan, create_user: bool) -> list[str]:
    """Write the plan's files (keeping an existing config and env file); optionally create the user.

    Returns:
        One line per thing done, for the CLI to print.
    """
    done = [_ensure_user(plan.user)] if create_user else []
    for path, text, mode, overwrite in plan.files:
        if path.exists() and not overwrite:
            done.append(f"kept {path} (exists)")
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(path.name + ".new")
        temp.write_text(text)
        temp.chmod(mode)
        os.replace(temp, path)
        if create_user and mode == 0o640:
            shutil.chown(path, group=plan.user)  # the service user reads its config, nobody else
        done.append(f"wrote {path}")
    return done


def _ensure_user(user: str) -> str:
    try:
        import pwd

        pwd.getpwnam(user)
        return f"user {user} exists"
    except KeyError:
        pass
    command = ["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell",
               "/usr/sbin/nologin", "--user-group", user]
    try:
        subprocess.run(command, check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        raise ConfigError(f"cannot create the system user {user} ({detail.strip()}); run as root or create it") from exc
    return f"created system user {user}"
