"""Checks of what the service will use (bundle, source, broker, outbox, updates), and the runner."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
import time
from pathlib import Path

from edge.bundle import Bundle
from edge.doctor.base import Check, Level
from edge.doctor.host import check_backends, check_clock, check_extras, check_platform
from edge.errors import EdgewatchError
from edge.settings import InferSettings

__all__ = ["run_checks"]

MiB = 1024 * 1024


def _bundle(settings: InferSettings) -> tuple[list[Check], Bundle | None]:
    from edge.model import load_model, self_test
    from edge.update import BundleStore

    try:
        if settings.update.enabled:
            bundle, origin = BundleStore(settings.update_dir()).startup_bundle(settings.bundle)
        elif settings.bundle is None:
            return [Check("bundle", Level.FAIL, "no bundle configured", "set bundle in the config file")], None
        else:
            from edge.bundle import load_bundle

            bundle, origin = load_bundle(settings.bundle), "configured bundle"
        model = load_model(bundle, settings.variant, settings.backend)
        began = time.perf_counter()
        self_test(model, None)
        took = (time.perf_counter() - began) * 1000
        model.close()
    except EdgewatchError as exc:
        return [Check("bundle", Level.FAIL, str(exc), "fix the bundle path or copy the bundle again")], None
    return [Check("bundle", Level.OK, f"{bundle.model_name} ({origin}): {model.variant.name} on {model.runs_on}, "
                                      f"self-test window {took:.1f} ms")], bundle


def _source(settings: InferSettings) -> Check:
    if settings.source is None:
        return Check("source", Level.FAIL, "no source configured", "set source in the config file")
    kind, _, arg = settings.source.partition(":")
    if kind == "file":
        ok = os.access(arg, os.R_OK)
        return Check("source", Level.OK if ok else Level.FAIL, f"file {arg}" + ("" if ok else " is not readable"),
                     None if ok else "check the path and the service user's rights")
    if kind == "serial":
        port = arg.split("?", 1)[0]
        if not os.path.exists(port):
            return Check("source", Level.FAIL, f"serial port {port} does not exist", "plug the device in, or fix the path")
        ok = os.access(port, os.R_OK | os.W_OK)
        return Check("source", Level.OK if ok else Level.FAIL, f"serial port {port}" + ("" if ok else " not accessible"),
                     None if ok else "add the service user to the dialout group")
    return Check("source", Level.OK, settings.source)


def _broker(settings: InferSettings) -> Check:
    from edge.sinks.mqtt_client import ShortClient

    try:
        config = settings.mqtt.config(settings.device_id)
    except EdgewatchError as exc:
        return Check("broker", Level.FAIL, str(exc), "fix [mqtt] in the config file")
    if config is None:
        return Check("broker", Level.WARN, "no broker configured: alerts go to stdout", "set [mqtt] url")
    how = ["TLS" + (" (host name NOT verified)" if config.insecure else "") if config.tls else "no TLS",
           f"user {config.username}" if config.username else "anonymous"]
    try:
        with ShortClient(config, role="doctor") as client:
            granted = client.subscribe(config.topic("cmd/+"))
    except EdgewatchError as exc:
        return Check("broker", Level.FAIL, str(exc), "check [mqtt], the broker, and the credentials in the env file")
    if not granted:
        return Check("broker", Level.WARN, f"connected to {config.address} ({', '.join(how)}) but the broker refused "
                     f"a subscription to {config.topic('cmd/+')}", "allow it in the broker's ACL for remote commands")
    level = Level.OK if config.tls else Level.WARN
    return Check("broker", level, f"connected to {config.address} ({', '.join(how)}), commands topic allowed",
                 None if config.tls else "use mqtts:// with a CA file off a trusted network")


def _existing_ancestor(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path("/")


def _space(area: str, path: Path, need: int) -> Check:
    anchor = _existing_ancestor(path)
    if not os.access(anchor, os.W_OK):
        return Check(area, Level.FAIL, f"{anchor} is not writable (for {path})", "fix the owner or the path")
    free = shutil.disk_usage(anchor).free
    level = Level.FAIL if free < need else Level.WARN if free < 4 * need else Level.OK
    return Check(area, level, f"{path}: {free / MiB:,.0f} MiB free, needs up to {need / MiB:,.0f} MiB",
                 None if level is Level.OK else "free disk space, or lower the bounds in the config")


def _outbox(settings: InferSettings) -> Check:
    path = settings.outbox_path()
    check = _space("outbox", path, settings.outbox_max_bytes)
    if check.level is Level.OK and path.exists():
        try:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
                waiting = db.execute("SELECT count(*) FROM outbox").fetchone()[0]
        except sqlite3.Error as exc:
            return Check("outbox", Level.FAIL, f"{path} cannot be read: {exc}", "move the damaged file away")
        return Check("outbox", Level.WARN if waiting else Level.OK,
                     f"{check.message}; {waiting} alert(s) waiting to be sent",
                     "check the broker: they go out at the next connection" if waiting else None)
    return check


def _updates(settings: InferSettings) -> Check:
    if not settings.update.enabled:
        return Check("updates", Level.OK, "off (no [update] trusted_keys)")
    from edge.update.signing import key_id

    check = _space("updates", settings.update_dir(), 3 * settings.update.max_bytes)
    keys = ", ".join(key_id(k) for k in settings.update.trusted_keys)
    return Check("updates", check.level, f"signed updates on, trusted key(s) {keys}; {check.message}", check.fix)


def _config_file(path: Path | None, settings: InferSettings) -> list[Check]:
    if path is None or settings.mqtt.password is None:
        return []
    if path.stat().st_mode & 0o077:
        return [Check("config", Level.WARN, f"{path} holds a password and others can read it",
                      f"chmod 600 {path}, or move the password to the environment file")]
    return []


def _not_before(bundle: Bundle | None) -> dt.datetime | None:
    created = (bundle.manifest.get("model", {}).get("created") if bundle else None) or ""
    try:
        stamp = dt.datetime.fromisoformat(created.replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.timezone.utc)


def run_checks(settings: InferSettings, config_path: Path | None = None) -> list[Check]:
    """Every check, in the order a person would fix them."""
    checks = [check_platform()]
    bundle_checks, bundle = _bundle(settings)
    formats = {v.format for v in bundle.variants.values()} if bundle else {"tflite", "onnx"}
    checks += check_backends(formats)
    checks += bundle_checks
    checks.append(_source(settings))
    kind = settings.source.partition(":")[0] if settings.source else None
    checks += check_extras(kind)
    checks += _config_file(config_path, settings)
    checks.append(_broker(settings))
    checks.append(_outbox(settings))
    checks.append(_updates(settings))
    checks.append(check_clock(_not_before(bundle)))
    return checks
