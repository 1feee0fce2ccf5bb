"""Bundle archives: a deterministic ``.tar.gz`` of a bundle, and its careful unpacking.

Packing takes only ``manifest.json`` and the files the manifest lists, in
sorted order with fixed owners, modes and times, so the same bundle always
gives the same bytes (and the same sha256). Unpacking never calls
``extractall``: it accepts regular files with plain relative names only
(no links, devices, absolute paths or ``..``), bounds their count and total
size, and writes each one itself.
"""

from __future__ import annotations

import gzip
import io
import tarfile
import zlib
from pathlib import Path, PurePosixPath

from edge.bundle import MANIFEST_NAME, load_bundle
from edge.errors import UpdateError

__all__ = ["pack_bundle", "unpack_archive", "MAX_MEMBERS"]

MAX_MEMBERS = 64


def pack_bundle(bundle_dir: Path, out: Path) -> None:
    """Verify the bundle, then write its archive to ``out``.

    Raises:
        BundleError: the bundle does not verify (nothing is written).
    """
    bundle = load_bundle(bundle_dir)
    names = [MANIFEST_NAME, *sorted(bundle.manifest["files"])]
    with open(out, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as zipped:
        with tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for name in names:
                data = (Path(bundle_dir) / name).read_bytes()
                info = tarfile.TarInfo(name)
                info.size, info.mode, info.mtime = len(data), 0o644, 0
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                tar.addfile(info, io.BytesIO(data))


def _safe_name(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if not name or path.is_absolute() or ".." in path.parts or "\\" in name or "\0" in name:
        raise UpdateError(f"archive member {name[:80]!r} has an unsafe path; refusing the bundle")
    return path


def unpack_archive(archive: Path, dest: Path, max_bytes: int) -> None:
    """Unpack a bundle archive into the new directory ``dest``.

    Raises:
        UpdateError: the archive is damaged, unsafe, or larger than ``max_bytes`` unpacked.
    """
    dest.mkdir(parents=True)
    total = 0
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            for count, member in enumerate(tar, start=1):
                if count > MAX_MEMBERS:
                    raise UpdateError(f"archive holds more than {MAX_MEMBERS} files; refusing the bundle")
                relative = _safe_name(member.name)
                if not member.isfile():
                    raise UpdateError(f"archive member {member.name!r} is not a regular file; refusing the bundle")
                total += member.size
                if total > max_bytes:
                    raise UpdateError(f"archive unpacks to more than {max_bytes} bytes; refusing the bundle")
                _write_member(tar, member, dest / relative)
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise UpdateError(f"bundle archive is damaged ({exc}); send it again") from exc
    except FileExistsError as exc:
        raise UpdateError(f"archive holds {Path(exc.filename).name!r} twice; refusing the bundle") from exc
    except OSError as exc:
        raise UpdateError(f"cannot unpack the bundle archive: {exc}") from exc


def _write_member(tar: tarfile.TarFile, member: tarfile.TarInfo, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    source = tar.extractfile(member)
    if source is None:
        raise UpdateError(f"archive member {member.name!r} has no data")
    with source, open(target, "xb") as out:
        written = 0
        for block in iter(lambda: source.read(1 << 16), b""):
            written += len(block)
            out.write(block)
    if written != member.size:
        raise UpdateError(f"archive member {member.name!r} is truncated ({written} of {member.size} bytes)")
