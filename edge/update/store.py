"""Where updated bundles live on the device, and which one is active across restarts.

    <dir>/
        bundles/<id>/     one verified, unpacked bundle per archive (id: first 16 hex of its sha256)
        bundles/<id>.json where it came from: sha256, signer's key id, time
        current -> bundles/<id>     the bundle edge-infer starts with
        previous -> bundles/<id>    the one before, kept for a manual or automatic fall-back
        staging/          downloads and unpacking in progress (emptied at start)

``current`` and ``previous`` are symlinks replaced with ``os.replace``, which
is atomic: a power cut leaves either the old or the new link, never none.
Only the current and previous bundles are kept.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

from edge.bundle import Bundle, load_bundle
from edge.errors import EdgewatchError, UpdateError
from edge.update.archive import unpack_archive

__all__ = ["BundleStore"]

log = logging.getLogger(__name__)


class BundleStore:
    """The update directory; methods run on the updater thread, ``activate`` on the pipeline's."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.bundles = self.root / "bundles"
        self.staging = self.root / "staging"

    def prepare(self) -> None:
        """Create the layout and empty ``staging`` (leftovers of an interrupted update)."""
        try:
            self.bundles.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(self.staging, ignore_errors=True)
            self.staging.mkdir()
        except OSError as exc:
            raise UpdateError(f"cannot use the update directory {self.root}: {exc}; check [update] dir") from exc

    def new_download(self) -> Path:
        """A fresh file in ``staging`` for an archive being received."""
        handle, name = tempfile.mkstemp(dir=self.staging, suffix=".tar.gz")
        os.close(handle)
        return Path(name)

    def install(self, archive: Path, sha256: str, key_id: str, origin: str) -> Path:
        """Unpack a verified archive, check the bundle inside, and file it under ``bundles/``.

        Raises:
            UpdateError, BundleError: the archive or the bundle inside is bad; nothing is kept.
        """
        ident = sha256[:16]
        unpacked = Path(tempfile.mkdtemp(dir=self.staging)) / "bundle"
        try:
            unpack_archive(archive, unpacked, self._unpacked_limit(archive))
            load_bundle(unpacked)  # the manifest's own sha256 of every file
            target = self.bundles / ident
            if target.exists() and target.resolve() not in self._kept():
                shutil.rmtree(target)
            if not target.exists():
                os.replace(unpacked, target)
        finally:
            shutil.rmtree(unpacked.parent, ignore_errors=True)
            archive.unlink(missing_ok=True)
        record = {"sha256": sha256, "key_id": key_id, "origin": origin, "installed_at": time.time()}
        (self.bundles / f"{ident}.json").write_text(json.dumps(record))
        return target

    @staticmethod
    def _unpacked_limit(archive: Path) -> int:
        return max(archive.stat().st_size * 20, 1 << 20)

    def _link(self, name: str) -> Path | None:
        link = self.root / name
        return link.resolve() if link.is_symlink() and link.resolve().is_dir() else None

    def _kept(self) -> set[Path]:
        return {p for p in (self._link("current"), self._link("previous")) if p is not None}

    def _point(self, name: str, target: Path) -> None:
        temp = self.root / f".{name}.new"
        temp.unlink(missing_ok=True)
        os.symlink(os.path.relpath(target, self.root), temp)
        os.replace(temp, self.root / name)

    def activate(self, target: Path) -> None:
        """Make ``target`` current (the old current becomes previous) and drop older bundles."""
        old = self._link("current")
        if old is not None and old != target.resolve():
            self._point("previous", old)
        self._point("current", target)
        dir_fd = os.open(self.root, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        self._prune()

    def discard(self, target: Path) -> None:
        """Remove a bundle that was installed but not activated."""
        if target.resolve() not in self._kept():
            shutil.rmtree(target, ignore_errors=True)
            (self.bundles / f"{target.name}.json").unlink(missing_ok=True)

    def _prune(self) -> None:
        kept = self._kept()
        for entry in self.bundles.iterdir():
            if entry.is_dir() and entry.resolve() not in kept:
                shutil.rmtree(entry, ignore_errors=True)
                (self.bundles / f"{entry.name}.json").unlink(missing_ok=True)

    def startup_bundle(self, configured: Path | None) -> tuple[Bundle, str]:
        """The bundle to start with: current, else previous, else the configured one; and why.

        Raises:
            EdgewatchError: none of them loads (the configured one's error is raised).
        """
        notes = []
        for name in ("current", "previous"):
            target = self._link(name)
            if target is None:
                continue
            try:
                return load_bundle(target), f"updated bundle {target.name} ({name})"
            except EdgewatchError as exc:
                log.warning("the %s updated bundle %s does not load (%s); trying the next one", name, target, exc)
                notes.append(f"{name} failed: {exc}")
        if configured is None:
            raise UpdateError("no bundle: set bundle in the config, or send one with cmd/update")
        suffix = f" ({'; '.join(notes)})" if notes else ""
        return load_bundle(configured), f"configured bundle{suffix}"
