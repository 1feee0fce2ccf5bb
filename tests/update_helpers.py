"""Helpers for the signed-update tests: bundle variants, signing through the CLI, a loopback HTTP server."""

from __future__ import annotations

import http.server
import json
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

from conftest import run_cli
from edge.bundle import MANIFEST_NAME, sha256_file


@dataclass(frozen=True)
class SignedArchive:
    path: Path
    sha256: str
    signature: str


def bundle_variant(source: Path, dest: Path, name: str, corrupt: str | None = None, nan_scaler: bool = False) -> Path:
    """A copy of ``source`` renamed ``name``; optionally one file corrupted (and re-hashed) or a NaN scaler."""
    shutil.copytree(source, dest)
    manifest = json.loads((dest / MANIFEST_NAME).read_text())
    manifest["model"]["name"] = name
    if corrupt:
        (dest / corrupt).write_bytes(b"this is not a flatbuffer " * 40)
        manifest["files"][corrupt] = {"sha256": sha256_file(dest / corrupt), "bytes": (dest / corrupt).stat().st_size}
    if nan_scaler:
        manifest["scaler"]["mean"][0] = float("nan")
    (dest / MANIFEST_NAME).write_text(json.dumps(manifest))
    return dest


def keygen(path: Path) -> str:
    done = run_cli("edgewatch.cli", "keygen", "--out", str(path))
    assert done.returncode == 0, done.stderr
    return path.with_suffix(".pub").read_text().strip()


def sign(bundle: Path, key: Path) -> SignedArchive:
    done = run_cli("edgewatch.cli", "sign", str(bundle), "--key", str(key))
    assert done.returncode == 0, done.stderr
    archive = bundle.with_name(bundle.name + ".tar.gz")
    record = json.loads(archive.with_name(archive.name + ".json").read_text())
    return SignedArchive(archive, record["sha256"], record["signature"])


class FileServer:
    """``http.server`` on 127.0.0.1 serving registered files; a ``truncate`` path sends half, then hangs up."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, bool]] = {}
        files = self.files

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                if self.path not in files:
                    self.send_error(404)
                    return
                data, truncate = files[self.path]
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2] if truncate else data)
                self.wfile.flush()
                self.close_connection = True

            def log_message(self, *args) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def serve(self, name: str, path: Path, truncate: bool = False) -> str:
        self.files[f"/{name}"] = (path.read_bytes(), truncate)
        return f"http://127.0.0.1:{self._server.server_address[1]}/{name}"

    def __enter__(self) -> "FileServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
