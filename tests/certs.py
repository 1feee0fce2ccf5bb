"""Test certificates made with the openssl command line: a CA, a server cert for 127.0.0.1, a client cert."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Certificates:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path  # a CA that signed nothing here
    wrong_host_cert: Path  # server cert whose SAN is not 127.0.0.1
    wrong_host_key: Path


def _run(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _ca(root: Path, name: str) -> tuple[Path, Path]:
    _run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name}",
         "-keyout", f"{name}.key", "-out", f"{name}.crt", cwd=root)
    return root / f"{name}.crt", root / f"{name}.key"


def _signed(root: Path, name: str, ca: tuple[Path, Path], san: str | None) -> tuple[Path, Path]:
    _run("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}", "-keyout", f"{name}.key",
         "-out", f"{name}.csr", cwd=root)
    ext = root / f"{name}.ext"
    ext.write_text(f"subjectAltName={san}\n" if san else "basicConstraints=CA:FALSE\n")
    _run("x509", "-req", "-in", f"{name}.csr", "-CA", str(ca[0]), "-CAkey", str(ca[1]), "-CAcreateserial",
         "-days", "2", "-extfile", str(ext), "-out", f"{name}.crt", cwd=root)
    return root / f"{name}.crt", root / f"{name}.key"


def make_certificates(root: Path) -> Certificates:
    ca = _ca(root, "test-ca")
    other = _ca(root, "other-ca")
    server = _signed(root, "server", ca, "IP:127.0.0.1,DNS:localhost")
    wrong = _signed(root, "wrong-host", ca, "DNS:broker.example")
    client = _signed(root, "device-7", ca, None)
    return Certificates(ca[0], server[0], server[1], client[0], client[1], other[0], wrong[0], wrong[1])
