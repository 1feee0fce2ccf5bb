"""The parts of signed updates, each on real files: archives, signatures, the store, probation."""

from __future__ import annotations

import io
import shutil
import tarfile
from dataclasses import replace

import numpy as np
import pytest

from edge.bundle import load_bundle
from edge.decide import DecisionConfig
from edge.errors import UpdateError
from edge.model import load_model
from edge.pipeline import ModelOffer, Pipeline, RunConfig
from edge.sinks import JsonLinesSink
from edge.sources import open_source
from edge.update import BundleStore
from edge.update.archive import pack_bundle, unpack_archive
from edge.update.fetch import file_sha256
from edge.update.signing import generate_key, load_private_key, sign_digest, verify_digest
from update_helpers import bundle_variant


def _tar(path, members):
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _file(name, data=b"x"):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def test_archive_round_trip_is_byte_identical_and_deterministic(trained_bundle, tmp_path):
    pack_bundle(trained_bundle.bundle, tmp_path / "a.tar.gz")
    pack_bundle(trained_bundle.bundle, tmp_path / "b.tar.gz")
    assert file_sha256(tmp_path / "a.tar.gz") == file_sha256(tmp_path / "b.tar.gz")
    unpack_archive(tmp_path / "a.tar.gz", tmp_path / "out", 10 << 20)
    assert load_bundle(tmp_path / "out").manifest == load_bundle(trained_bundle.bundle).manifest


@pytest.mark.parametrize("member, message", [
    (_file("../escape.txt"), "unsafe path"),
    (_file("/etc/passwd-x"), "unsafe path"),
    (_file("sub/../../x"), "unsafe path"),
])
def test_unsafe_member_names_are_refused(tmp_path, member, message):
    with pytest.raises(UpdateError, match=message):
        unpack_archive(_tar(tmp_path / "a.tgz", [member]), tmp_path / "out", 1 << 20)
    assert not (tmp_path / "escape.txt").exists()


def test_links_devices_and_oversize_are_refused(tmp_path):
    link = tarfile.TarInfo("manifest.json")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/shadow"
    with pytest.raises(UpdateError, match="not a regular file"):
        unpack_archive(_tar(tmp_path / "l.tgz", [(link, None)]), tmp_path / "o1", 1 << 20)
    with pytest.raises(UpdateError, match="more than 100 bytes"):
        unpack_archive(_tar(tmp_path / "big.tgz", [_file("a", b"0" * 101)]), tmp_path / "o2", 100)
    with pytest.raises(UpdateError, match="twice"):
        unpack_archive(_tar(tmp_path / "d.tgz", [_file("a"), _file("a")]), tmp_path / "o3", 100)


def test_a_damaged_archive_is_one_clear_error(trained_bundle, tmp_path):
    pack_bundle(trained_bundle.bundle, tmp_path / "a.tar.gz")
    data = (tmp_path / "a.tar.gz").read_bytes()
    (tmp_path / "cut.tar.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(UpdateError, match="damaged"):
        unpack_archive(tmp_path / "cut.tar.gz", tmp_path / "out", 10 << 20)


def test_signatures_verify_only_for_the_signed_digest_and_a_trusted_key(tmp_path):
    public = generate_key(tmp_path / "k.pem")
    other = generate_key(tmp_path / "o.pem")
    digest = "ab" * 32
    signature = sign_digest(load_private_key(tmp_path / "k.pem"), digest)
    assert len(verify_digest((other, public), digest, signature)) == 16
    with pytest.raises(UpdateError, match="does not verify"):
        verify_digest((public,), "ac" * 32, signature)
    with pytest.raises(UpdateError, match="does not verify"):
        verify_digest((other,), digest, signature)
    with pytest.raises(UpdateError, match="not base64"):
        verify_digest((public,), digest, "%%%")
    assert oct((tmp_path / "k.pem").stat().st_mode & 0o777) == "0o600"


def _install(store, bundle_dir, tmp_path):
    archive = tmp_path / f"{bundle_dir.name}.tar.gz"
    pack_bundle(bundle_dir, archive)
    return store.install(archive, file_sha256(archive), "key", "test")


def test_store_keeps_current_and_previous_and_falls_back_when_current_is_damaged(trained_bundle, tmp_path):
    store = BundleStore(tmp_path / "updates")
    store.prepare()
    versions = [bundle_variant(trained_bundle.bundle, tmp_path / f"v{i}", f"pump-v{i}") for i in range(3)]
    for version in versions:
        store.activate(_install(store, version, tmp_path))
    assert store.startup_bundle(trained_bundle.bundle)[0].model_name == "pump-v2"
    assert len([p for p in store.bundles.iterdir() if p.is_dir()]) == 2  # v0 pruned
    current = (store.root / "current").resolve()
    (current / "model_int8.tflite").write_bytes(b"\0")
    bundle, origin = store.startup_bundle(trained_bundle.bundle)
    assert bundle.model_name == "pump-v1" and "(previous)" in origin
    shutil.rmtree((store.root / "previous").resolve())
    bundle, origin = store.startup_bundle(trained_bundle.bundle)
    assert bundle.root == trained_bundle.bundle and "current failed" in origin


class _FailingBackend:
    """A seam for the probation: the real backend, failing from its ``fail_from``-th window on."""

    def __init__(self, real, fail_from: int) -> None:
        self.real, self.fail_from, self.calls = real, fail_from, 0
        self.name, self.execution = real.name, "cpu"

    def run(self, window):
        self.calls += 1
        if self.calls >= self.fail_from:
            raise RuntimeError("tensor arena exhausted")
        return self.real.run(window)

    def close(self) -> None:
        self.real.close()


def _run_with_offer(trained_bundle, fail_from: int, probation: int = 20):
    bundle = load_bundle(trained_bundle.bundle)
    old = load_model(bundle)
    new = load_model(bundle)
    failing = _FailingBackend(new.backend, fail_from)
    new = replace(new, backend=failing, scorer=type(new.scorer)(bundle.scaler, failing))
    source = open_source(f"file:{trained_bundle.data.stream_csv}", bundle.input.columns)
    out = io.StringIO()
    sink = JsonLinesSink(out)
    sink.open()
    pipeline = Pipeline(old, source, sink, RunConfig("t", DecisionConfig(bundle.threshold, 3, 5),
                                                     probation_windows=probation))
    results = []
    pipeline.offer_model(ModelOffer(new, results.append))
    summary = pipeline.run()
    return pipeline, summary, results, old


def test_a_model_failing_during_probation_hands_the_window_back_to_the_old_one(trained_bundle):
    pipeline, summary, results, old = _run_with_offer(trained_bundle, fail_from=5)
    assert len(results) == 1 and results[0].startswith("rolled back to ")
    assert "tensor arena exhausted" in results[0]
    assert pipeline.model is old
    rows = len(trained_bundle.data.stream_csv.read_text().splitlines()) - 1
    spec = old.bundle.input
    assert summary.counters.windows == (rows - spec.window) // spec.hop + 1


def test_a_model_that_passes_probation_is_kept(trained_bundle):
    pipeline, summary, results, old = _run_with_offer(trained_bundle, fail_from=10**9, probation=3)
    assert results == [None] and pipeline.model is not old
    assert np.isfinite(summary.counters.last_score)
