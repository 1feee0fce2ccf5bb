"""Remote commands (``<prefix>/<device>/cmd/<name>``): parsing and validation, no I/O.

| command     | payload (JSON object, may be empty)       | effect                                    |
|-------------|-------------------------------------------|-------------------------------------------|
| `threshold` | `{"value": 0.07}`                         | new threshold from the next window on     |
| `pause`     | `{}`                                      | keep reading, stop scoring and alerting   |
| `resume`    | `{}`                                      | score and alert again                     |
| `reload`    | `{"bundle": "/path"}` (default: current)  | verify, self-test, swap between windows   |
| `update`    | `{"url", "sha256", "signature"}`          | download, verify signature, self-test, swap |
|             | or `{"index", "total", "size", "chunk", "sha256", "signature"}` | the same, sent in chunks |

Every payload may carry `"request_id"`, echoed in the reply on ``<prefix>/<device>/reply``.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass, field

from edge.errors import ConfigError

__all__ = ["Command", "CommandError", "parse_command", "COMMANDS", "MAX_CHUNK_BYTES"]

COMMANDS = ("threshold", "pause", "resume", "reload", "update")
MAX_CHUNK_BYTES = 256 * 1024  # decoded bytes per update chunk; the base64 text is 4/3 of it
_UPDATE_COMMON = {"sha256", "signature"}
_UPDATE_URL = {"url"}
_UPDATE_CHUNK = {"index", "total", "size", "chunk"}


class CommandError(ConfigError):
    """A remote command is unknown or its payload is invalid."""


@dataclass(frozen=True)
class Command:
    name: str
    request_id: str | None = None
    args: dict = field(default_factory=dict)


def parse_command(name: str, payload: bytes) -> Command:
    """Validate a command; ``CommandError`` says what is wrong in one line."""
    if name not in COMMANDS:
        raise CommandError(f"unknown command {name!r}; known: {', '.join(COMMANDS)}")
    body = _json_object(payload)
    request_id = body.pop("request_id", None)
    if request_id is not None and not isinstance(request_id, (str, int)):
        raise CommandError("request_id must be a string or an integer")
    request_id = None if request_id is None else str(request_id)
    allowed = {"threshold": {"value"}, "reload": {"bundle"},
               "update": _UPDATE_COMMON | _UPDATE_URL | _UPDATE_CHUNK}.get(name, set())
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise CommandError(f"{name}: unexpected field(s) {', '.join(unknown)}")
    if name == "threshold":
        value = body.get("value")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            raise CommandError('threshold needs {"value": a positive number}')
        body["value"] = float(value)
    if name == "reload" and not isinstance(body.get("bundle", ""), str):
        raise CommandError('reload takes {"bundle": "PATH"} or nothing')
    if name == "update":
        _check_update(body, request_id)
    return Command(name, request_id, body)


def _check_update(body: dict, request_id: str | None) -> None:
    """An update names its archive by URL, or carries one chunk of it; sha256 and signature always."""
    sha = body.get("sha256")
    if not isinstance(sha, str) or len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha.lower()):
        raise CommandError("update needs sha256: the archive's 64 hexadecimal digits (from edgewatch sign)")
    body["sha256"] = sha.lower()
    if not isinstance(body.get("signature"), str) or not body["signature"]:
        raise CommandError("update needs signature: the base64 Ed25519 signature from edgewatch sign")
    has_url, chunk_keys = "url" in body, _UPDATE_CHUNK & set(body)
    if has_url == bool(chunk_keys):
        raise CommandError("update takes either url, or index/total/size/chunk (a chunked transfer), not both")
    if has_url:
        if not isinstance(body["url"], str) or not body["url"].lower().startswith(("http://", "https://")):
            raise CommandError("update url must be an http:// or https:// URL")
        return
    missing = sorted(_UPDATE_CHUNK - chunk_keys)
    if missing:
        raise CommandError(f"update chunk lacks {', '.join(missing)}")
    if request_id is None:
        raise CommandError("a chunked update needs request_id, the same on every chunk of one transfer")
    ints = [body[k] for k in ("index", "total", "size")]
    if any(isinstance(v, bool) or not isinstance(v, int) for v in ints) or not 0 <= body["index"] < body["total"] \
            or body["size"] <= 0:
        raise CommandError("update chunk needs integers 0 <= index < total and size > 0")
    try:
        body["chunk"] = base64.b64decode(body["chunk"], validate=True)
    except (binascii.Error, TypeError, ValueError):
        raise CommandError("update chunk must be base64 text") from None
    if len(body["chunk"]) > MAX_CHUNK_BYTES:
        raise CommandError(f"update chunk is larger than {MAX_CHUNK_BYTES} bytes; send smaller chunks")


def _json_object(payload: bytes) -> dict:
    if not payload.strip():
        return {}
    try:
        body = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CommandError(f"payload is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise CommandError("payload must be a JSON object")
    return body
