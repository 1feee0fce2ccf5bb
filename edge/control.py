"""Remote commands (``<prefix>/<device>/cmd/<name>``): parsing and validation, no I/O.

| command     | payload (JSON object, may be empty)       | effect                                    |
|-------------|-------------------------------------------|-------------------------------------------|
| `threshold` | `{"value": 0.07}`                         | new threshold from the next window on     |
| `pause`     | `{}`                                      | keep reading, stop scoring and alerting   |
| `resume`    | `{}`                                      | score and alert again                     |
| `reload`    | `{"bundle": "/path"}` (default: current)  | verify, self-test, swap between windows   |

Every payload may carry `"request_id"`, echoed in the reply on ``<prefix>/<device>/reply``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

from edge.errors import ConfigError

__all__ = ["Command", "CommandError", "parse_command", "COMMANDS"]

COMMANDS = ("threshold", "pause", "resume", "reload")


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
    allowed = {"threshold": {"value"}, "reload": {"bundle"}}.get(name, set())
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
    return Command(name, request_id, body)


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
