"""``edgewatch keygen``, ``sign`` and ``update``: signed model updates from the host.

    edgewatch keygen --out update-key.pem            # once; paste the printed key into devices' configs
    edgewatch sign --key update-key.pem bundle/      # bundle.tar.gz + bundle.tar.gz.json (sha256, signature)
    edgewatch update --archive bundle.tar.gz --mqtt mqtt://broker:1883 --device-id pump-1 \\
        [--url http://host.lan:8000/bundle.tar.gz]   # the URL form; without it the archive goes in chunks
"""

from __future__ import annotations

import base64
import json
import math
import uuid
from pathlib import Path
from typing import Annotated, Optional

import typer

from edge.control import MAX_CHUNK_BYTES
from edge.errors import ConfigError
from edge.settings import InferSettings
from edge.sinks.mqtt_client import ShortClient
from edgewatch.errors_cli import cli_errors

__all__ = ["keygen", "sign", "send_update"]


@cli_errors
def keygen(
    out: Annotated[Path, typer.Option(help="Private key file to create (mode 600; keep it on the host).")],
) -> None:
    """Create an Ed25519 signing key for model updates and print the public key devices trust."""
    from edge.update.signing import generate_key, key_id

    public = generate_key(out)
    out.with_suffix(".pub").write_text(public + "\n")
    print(f"wrote {out} (private, keep it off the devices) and {out.with_suffix('.pub')}")
    print(f"key id {key_id(public)}; on each device, in edgewatch.toml:")
    print(f'[update]\ntrusted_keys = ["{public}"]')


@cli_errors
def sign(
    bundle: Annotated[Path, typer.Argument(help="Bundle directory written by 'edgewatch convert'.")],
    key: Annotated[Path, typer.Option(help="Private key from 'edgewatch keygen'.")],
    out: Annotated[Optional[Path], typer.Option(help="Archive to write (default: BUNDLE.tar.gz beside it).")] = None,
) -> None:
    """Pack a verified bundle into a deterministic archive and sign its sha256."""
    from edge.bundle import load_bundle
    from edge.update.archive import pack_bundle
    from edge.update.fetch import file_sha256
    from edge.update.signing import key_id, load_private_key, public_key_text, sign_digest

    private = load_private_key(key)
    archive = out or bundle.resolve().with_name(bundle.resolve().name + ".tar.gz")
    pack_bundle(bundle, archive)
    sha = file_sha256(archive)
    record = {"sha256": sha, "signature": sign_digest(private, sha), "bytes": archive.stat().st_size,
              "key_id": key_id(public_key_text(private)), "model": load_bundle(bundle).model_name}
    sidecar = archive.with_name(archive.name + ".json")
    sidecar.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {archive} ({record['bytes']} bytes) and {sidecar}")
    print("cmd/update payload (serve the archive over http and fill in its URL):")
    print(json.dumps({"url": "http://HOST:PORT/" + archive.name, "sha256": sha, "signature": record["signature"]}))


def _signed(archive: Path) -> dict:
    sidecar = archive.with_name(archive.name + ".json")
    try:
        record = json.loads(sidecar.read_text())
        return {"sha256": record["sha256"], "signature": record["signature"]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"cannot read {sidecar} ({exc}); sign the bundle with 'edgewatch sign' first") from exc


def update_messages(archive: Path, url: str | None, chunk_size: int, request_id: str) -> list[dict]:
    """The ``cmd/update`` payloads that deliver ``archive``: one with a URL, or one per chunk."""
    signed = {**_signed(archive), "request_id": request_id}
    if url:
        return [{**signed, "url": url}]
    if not 0 < chunk_size <= MAX_CHUNK_BYTES:
        raise ConfigError(f"--chunk-size must be 1..{MAX_CHUNK_BYTES}")
    data = archive.read_bytes()
    total = max(1, math.ceil(len(data) / chunk_size))
    return [{**signed, "index": i, "total": total, "size": len(data),
             "chunk": base64.b64encode(data[i * chunk_size:(i + 1) * chunk_size]).decode()} for i in range(total)]


@cli_errors
def send_update(
    archive: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="Archive from 'edgewatch sign' (its .json beside it).")],
    device_id: Annotated[Optional[str], typer.Option(help="Device to update.")] = None,
    url: Annotated[Optional[str], typer.Option(help="Where the device downloads the archive (http/https on your network); without it the archive is sent over MQTT in chunks.")] = None,
    config: Annotated[Optional[Path], typer.Option(help="TOML file with [mqtt] settings (as edge-infer's).")] = None,
    mqtt: Annotated[Optional[str], typer.Option(help="Broker URL mqtt://HOST:PORT or mqtts://HOST:PORT.")] = None,
    topic_prefix: Annotated[Optional[str], typer.Option(help="First topic level(s) (default edgewatch).")] = None,
    mqtt_ca: Annotated[Optional[str], typer.Option(help="CA certificate that signed the broker's (mqtts://).")] = None,
    mqtt_cert: Annotated[Optional[str], typer.Option(help="Client certificate (mqtts://).")] = None,
    mqtt_key: Annotated[Optional[str], typer.Option(help="Client certificate's key (mqtts://).")] = None,
    chunk_size: Annotated[int, typer.Option(help="Bytes per MQTT chunk.")] = 64 * 1024,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the device's answer.")] = 120.0,
) -> None:
    """Send a signed bundle to a device over MQTT and wait for its answer (exit 1 if it refused)."""
    base = InferSettings.from_toml(config) if config else InferSettings()
    settings = base.with_overrides(device_id=device_id, mqtt=dict(
        url=mqtt, topic_prefix=topic_prefix, ca_file=mqtt_ca, cert_file=mqtt_cert, key_file=mqtt_key))
    mqtt_config = settings.mqtt.config(settings.device_id)
    if mqtt_config is None:
        raise ConfigError("--mqtt is required (as a flag, or [mqtt] url in the --config file)")
    request_id = f"update-{uuid.uuid4().hex[:12]}"
    messages = update_messages(archive, url, chunk_size, request_id)
    with ShortClient(mqtt_config, role="update") as client:
        if not client.subscribe(mqtt_config.topic("reply")):
            raise ConfigError(f"the broker refused a subscription to {mqtt_config.topic('reply')}; check its ACL")
        for message in messages:
            client.publish(mqtt_config.topic("cmd/update"), json.dumps(message))
        answer = client.wait(lambda m: json.loads(m.payload).get("request_id") == request_id, timeout)
    if answer is None:
        raise ConfigError(f"no answer from {settings.device_id} within {timeout:g} s; is edge-infer running "
                          "with [update] trusted_keys set?")
    reply = json.loads(answer.payload)
    print(json.dumps(reply))
    if not reply.get("ok"):
        raise typer.Exit(1)
