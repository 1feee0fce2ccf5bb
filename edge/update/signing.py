"""Ed25519 signatures over bundle archives: made on the host, checked on the device.

What is signed is ``CONTEXT + sha256(archive)``, never the archive itself, so
the device hashes a large download in a stream and checks one 62-byte
message. Keys travel as base64 of their 32 raw bytes (one line to paste into
a config file); the private key is a PKCS#8 PEM file readable by its owner only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from pathlib import Path

from edge.errors import ConfigError, MissingDependencyError, UpdateError

__all__ = ["CONTEXT", "generate_key", "load_private_key", "public_key_text", "sign_digest", "verify_digest",
           "key_id"]

CONTEXT = b"edgewatch bundle v1\n"


def _ed25519():
    try:
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError as exc:
        raise MissingDependencyError("signed updates need the cryptography package: pip install cryptography") from exc
    return ed25519


def _serialization():
    from cryptography.hazmat.primitives import serialization

    return serialization


def _message(sha256_hex: str) -> bytes:
    try:
        digest = bytes.fromhex(sha256_hex)
    except ValueError:
        digest = b""
    if len(digest) != hashlib.sha256().digest_size:
        raise UpdateError(f"sha256 {sha256_hex[:80]!r} is not 64 hexadecimal digits")
    return CONTEXT + digest


def generate_key(path: Path) -> str:
    """Write a new private key to ``path`` (mode 600, never overwritten); return its public key text."""
    ed25519, serialization = _ed25519(), _serialization()
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ConfigError(f"{path} exists; refusing to overwrite a signing key (choose another --out)") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return public_key_text(key)


def load_private_key(path: Path):
    """Read a PEM private key written by ``generate_key``."""
    ed25519, serialization = _ed25519(), _serialization()
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except OSError as exc:
        raise ConfigError(f"cannot read signing key {path}: {exc.strerror or exc}") from exc
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{path} is not an unencrypted PEM private key ({exc}); make one with edgewatch keygen") from exc
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise ConfigError(f"{path} holds a {type(key).__name__}, not an Ed25519 key; make one with edgewatch keygen")
    return key


def public_key_text(private_key) -> str:
    """Base64 of the 32 raw public-key bytes: what devices list in ``[update] trusted_keys``."""
    serialization = _serialization()
    raw = private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def key_id(public_text: str) -> str:
    """A short fingerprint of a public key, for replies and logs."""
    return hashlib.sha256(public_text.strip().encode()).hexdigest()[:16]


def sign_digest(private_key, sha256_hex: str) -> str:
    """Base64 signature of an archive's sha256."""
    return base64.b64encode(private_key.sign(_message(sha256_hex))).decode()


def verify_digest(trusted_keys: tuple[str, ...], sha256_hex: str, signature: str) -> str:
    """Check ``signature`` over ``sha256_hex`` against each trusted key; return the signer's key id.

    Raises:
        UpdateError: malformed signature, or no trusted key made it.
        ConfigError: a trusted key in the config is malformed.
    """
    ed25519 = _ed25519()
    from cryptography.exceptions import InvalidSignature

    message = _message(sha256_hex)
    try:
        raw_signature = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        raise UpdateError("signature is not base64") from None
    for text in trusted_keys:
        try:
            public = ed25519.Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True))
        except (binascii.Error, ValueError) as exc:
            raise ConfigError(f"[update] trusted key {text[:12]}... is not a base64 Ed25519 public key ({exc})") from exc
        try:
            public.verify(raw_signature, message)
            return key_id(text)
        except InvalidSignature:
            continue
    raise UpdateError("signature does not verify against any trusted key (signed with another key, or tampered)")
