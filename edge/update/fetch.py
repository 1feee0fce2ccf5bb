"""Getting a bundle archive onto the device: an http(s) download, bounded and checked.

The archive's authenticity comes from its signature, not from the transport,
so plain http on the user's own network is accepted; https verifies the
server against the system CAs or ``[update] ca_file``.
"""

from __future__ import annotations

import hashlib
import http.client
import socket
import ssl
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from edge.errors import UpdateError

__all__ = ["download", "file_sha256"]

BLOCK = 1 << 16


def _open(url: str, timeout: float, ca_file: str | None):
    scheme = urlsplit(url).scheme
    if scheme not in ("http", "https"):
        raise UpdateError(f"update URL must be http:// or https://, not {scheme or 'empty'}://")
    context = ssl.create_default_context(cafile=ca_file) if scheme == "https" else None
    request = urllib.request.Request(url, headers={"User-Agent": "edgewatch-update"})
    try:
        return urllib.request.urlopen(request, timeout=timeout, context=context)
    except urllib.error.HTTPError as exc:
        raise UpdateError(f"download of {url} failed: HTTP {exc.code} {exc.reason}") from exc
    except urllib.error.URLError as exc:
        raise UpdateError(f"download of {url} failed: {exc.reason}") from exc
    except (OSError, ValueError) as exc:
        raise UpdateError(f"download of {url} failed: {exc}") from exc


def download(url: str, dest: Path, max_bytes: int, timeout: float, ca_file: str | None = None) -> int:
    """Stream ``url`` into ``dest``; returns the byte count.

    Raises:
        UpdateError: bad scheme, HTTP error, time-out, more than ``max_bytes``, or
            fewer bytes than the server announced (a truncated download).
    """
    with _open(url, timeout, ca_file) as response:
        announced = response.headers.get("Content-Length")
        expected = int(announced) if announced and announced.isdigit() else None
        if expected is not None and expected > max_bytes:
            raise UpdateError(f"{url} is {expected} bytes, more than the {max_bytes} allowed ([update] max_bytes)")
        received = 0
        try:
            with open(dest, "wb") as out:
                for block in iter(lambda: response.read(BLOCK), b""):
                    received += len(block)
                    if received > max_bytes:
                        raise UpdateError(f"{url} sent more than the {max_bytes} bytes allowed ([update] max_bytes)")
                    out.write(block)
        except (socket.timeout, TimeoutError) as exc:
            raise UpdateError(f"download of {url} stalled after {received} bytes (timed out)") from exc
        except http.client.IncompleteRead as exc:
            raise UpdateError(f"download of {url} was truncated after {received} bytes") from exc
        except (OSError, http.client.HTTPException) as exc:
            raise UpdateError(f"download of {url} failed after {received} bytes: {exc}") from exc
    if expected is not None and received != expected:
        raise UpdateError(f"download of {url} was truncated: {received} of {expected} bytes arrived")
    return received


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()
