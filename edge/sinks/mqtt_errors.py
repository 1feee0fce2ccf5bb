"""One-line descriptions of MQTT connection failures, each with the likely fix."""

from __future__ import annotations

import socket
import ssl
from typing import Any

from edge.sinks.mqtt_config import MqttConfig

__all__ = ["describe_os_error", "describe_tls_error", "describe_refusal"]

_AUTH_REASONS = {134, 135}  # Bad user name or password / Not authorized (paho maps MQTT 3 codes 4, 5 here)


def describe_os_error(exc: OSError, cfg: MqttConfig) -> str:
    """One line for a failed TCP connect, with the likely fix."""
    where = cfg.address
    if isinstance(exc, ConnectionRefusedError):
        return f"connection refused: is the broker running at {where}? start mosquitto or pass --mqtt"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return f"timed out after {cfg.connect_timeout:g}s connecting to {where}: check the host, port and firewall"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve MQTT host {cfg.host!r}: check --mqtt"
    reason = exc.strerror or str(exc) or type(exc).__name__
    return f"cannot connect to MQTT broker at {where}: {reason}"


def describe_tls_error(exc: ssl.SSLError, cfg: MqttConfig) -> str:
    """One line for a failed TLS handshake."""
    reason = getattr(exc, "verify_message", None) or getattr(exc, "reason", None) or str(exc)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (f"TLS: the certificate of {cfg.address} failed verification ({reason}); "
                "pass the CA that signed it, or connect with the host name on its certificate")
    return f"TLS handshake with {cfg.address} failed ({reason}); check the client certificate and key"


def describe_refusal(reason: Any, cfg: MqttConfig) -> str:
    """One line for a CONNACK that refused us."""
    if getattr(reason, "value", None) in _AUTH_REASONS:
        return f"MQTT broker at {cfg.address} refused the connection: not authorized: check username/password ({reason})"
    return f"MQTT broker at {cfg.address} refused the connection: {reason}"
