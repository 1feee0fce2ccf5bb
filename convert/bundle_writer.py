"""Writing a bundle directory atomically: model files, then a manifest with their sha256."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from edge.bundle import MANIFEST_NAME, sha256_file
from edge.errors import ConfigError

__all__ = ["BundleWriter"]


class BundleWriter:
    """Collects files in a staging directory beside ``out`` and swaps it in on ``commit``.

    A crash midway leaves any earlier bundle at ``out`` untouched.
    """

    def __init__(self, out: Path) -> None:
        self.out = Path(out)
        if self.out.exists() and not (self.out / MANIFEST_NAME).is_file() and any(self.out.iterdir()):
            raise ConfigError(f"{self.out} exists and is not a bundle; choose an empty or new --out directory")
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.staging = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.", dir=self.out.parent))

    def add(self, name: str, content: bytes) -> Path:
        path = self.staging / name
        path.write_bytes(content)
        return path

    def files_entry(self) -> dict:
        """``{name: {sha256, bytes}}`` for every staged file."""
        return {
            p.name: {"sha256": sha256_file(p), "bytes": p.stat().st_size}
            for p in sorted(self.staging.iterdir())
            if p.name != MANIFEST_NAME and p.is_file()
        }

    def commit(self, manifest: dict) -> Path:
        (self.staging / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        if self.out.exists():
            retired = self.out.with_name(f".{self.out.name}.old")
            shutil.rmtree(retired, ignore_errors=True)
            os.replace(self.out, retired)
            os.replace(self.staging, self.out)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(self.staging, self.out)
        return self.out

    def abort(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)
