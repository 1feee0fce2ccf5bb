"""Signed model updates, from the ``cmd/update`` command to the swap between windows.

Threads: ``submit`` runs on paho's thread and only queues. The updater's own
thread downloads (or assembles chunks), checks the archive's sha256 and
signature *before* unpacking, unpacks into staging, verifies the bundle, loads
it and runs a first self-test, then offers the model to the pipeline. The
pipeline's worker self-tests it on the last live window, swaps it in and
keeps the old model through a probation; its verdict comes back through
``_finish`` (on the worker thread), which makes the bundle current on disk
and answers on the reply topic. Every refusal leaves the running model alone.

Chunked transfers: every chunk is a ``cmd/update`` carrying the same
``request_id``, ``total``, ``size``, ``sha256`` and ``signature``, and its
``index`` (0 .. total-1) and base64 ``chunk``. Chunks must come in order (one
publisher on one topic at QoS 1 keeps MQTT order); a repeated chunk is
ignored, a gap aborts the transfer, and so does a silence of ``IDLE_S``.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from edge.control import Command
from edge.errors import EdgewatchError, UpdateError
from edge.model import reload_model
from edge.pipeline import ModelOffer, Pipeline
from edge.settings import UpdateSettings
from edge.update.fetch import download, file_sha256
from edge.update.signing import verify_digest
from edge.update.store import BundleStore

__all__ = ["Updater", "IDLE_S"]

log = logging.getLogger(__name__)

IDLE_S = 120.0
_STOP = object()


@dataclass
class _Transfer:
    first: Command
    path: Path
    handle: BinaryIO
    next_index: int = 0
    received: int = 0
    last_seen: float = 0.0


class Updater:
    """Applies ``cmd/update`` commands to a running pipeline; see the module docstring.

    Args:
        settings: trusted keys and bounds.
        store: the update directory (``prepare()``d by ``start``).
        pipeline: where a verified model is offered.
        reply: publishes one answer dict (any thread).
    """

    def __init__(self, settings: UpdateSettings, store: BundleStore, pipeline: Pipeline,
                 reply: Callable[[dict], None]) -> None:
        self.settings, self.store, self.pipeline, self._reply = settings, store, pipeline, reply
        self._queue: queue.Queue = queue.Queue(maxsize=1024)
        self._thread: threading.Thread | None = None
        self._transfer: _Transfer | None = None
        self._abandoned: str | None = None  # its later chunks are dropped without a reply each

    def start(self) -> None:
        self.store.prepare()
        self._thread = threading.Thread(target=self._loop, name="edgewatch-updater", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Abandon a transfer in progress; a download in flight is left to its daemon thread."""
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(timeout)

    def submit(self, command: Command) -> None:
        """Queue an ``update`` command (paho's thread); refused at once if the queue is full."""
        if not self.settings.enabled:
            self._answer(command, "updates are off on this device: list a signing key in [update] trusted_keys")
            return
        try:
            self._queue.put_nowait(command)
        except queue.Full:
            self._answer(command, "the device is busy with earlier update messages; send again later")

    def _loop(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=1.0)
            except queue.Empty:
                self._check_idle()
                continue
            if item is _STOP:
                self._abort("edge-infer is stopping")
                return
            try:
                self._handle(item)
            except Exception as exc:  # never let one bad update end the updater
                log.exception("update %s failed", item.request_id)
                self._answer(item, f"update failed: {exc}")

    def _handle(self, command: Command) -> None:
        if "url" not in command.args:
            self._add_chunk(command)
            return
        self._abort("a URL update arrived")
        path = self.store.new_download()
        try:
            download(command.args["url"], path, self.settings.max_bytes, self.settings.download_timeout_s,
                     self.settings.ca_file)
        except EdgewatchError as exc:
            path.unlink(missing_ok=True)
            self._answer(command, str(exc))
            return
        self._verify_and_offer(path, command, command.args["url"])

    def _verify_and_offer(self, archive: Path, command: Command, origin: str) -> None:
        """Hash and signature first, then unpack, verify, load, and offer to the pipeline."""
        expected = command.args["sha256"]
        try:
            actual = file_sha256(archive)
            if actual != expected:
                raise UpdateError(f"archive sha256 is {actual[:16]}..., the command says {expected[:16]}... "
                                  "(corrupted in transit or the wrong file)")
            signer = verify_digest(self.settings.trusted_keys, actual, command.args["signature"])
            target = self.store.install(archive, actual, signer, origin)
        except EdgewatchError as exc:
            archive.unlink(missing_ok=True)
            self._answer(command, str(exc))
            return
        try:
            model = reload_model(self.pipeline.model, target, None)
        except EdgewatchError as exc:
            self.store.discard(target)
            self._answer(command, str(exc))
            return
        log.info("update %s: bundle %s signed by %s loaded; offering it", command.request_id, target.name, signer)
        self.pipeline.offer_model(ModelOffer(model, lambda reason: self._finish(command, target, reason)))

    def _finish(self, command: Command, target: Path, reason: str | None) -> None:
        """The pipeline's verdict (worker thread): activate on disk, or discard; then answer."""
        if reason is None:
            try:
                self.store.activate(target)
            except OSError as exc:
                reason = f"the new model runs, but it could not be made current on disk ({exc}); " \
                         "it will not survive a restart"
        else:
            self.store.discard(target)
        self._answer(command, reason)

    # -- chunked transfers (updater thread) ---------------------------------------------

    def _add_chunk(self, command: Command) -> None:
        args, transfer = command.args, self._transfer
        if command.request_id == self._abandoned and args["index"] != 0:
            return  # the rest of a transfer already refused (chunk 0 starts it over)
        if transfer is not None and transfer.first.request_id != command.request_id:
            self._abort(f"transfer {command.request_id} started")
            transfer = None
        if transfer is None:
            transfer = self._begin(command)
            if transfer is None:
                return
        elif any(args[k] != transfer.first.args[k] for k in ("total", "size", "sha256", "signature")):
            self._abort(f"chunk {args['index']} does not match chunk 0's total, size, sha256 or signature")
            return
        if args["index"] < transfer.next_index:
            return  # a QoS 1 duplicate
        if args["index"] > transfer.next_index:
            self._abort(f"chunk {args['index']} arrived while chunk {transfer.next_index} was expected "
                        "(a chunk was lost); send the transfer again")
            return
        if transfer.received + len(args["chunk"]) > args["size"]:
            self._abort(f"the chunks hold more than the announced {args['size']} bytes")
            return
        transfer.handle.write(args["chunk"])
        transfer.received += len(args["chunk"])
        transfer.next_index += 1
        transfer.last_seen = time.monotonic()
        if transfer.next_index == args["total"]:
            self._complete(transfer)

    def _begin(self, command: Command) -> _Transfer | None:
        args = command.args
        if args["index"] != 0:
            self._abandoned = command.request_id
            self._answer(command, f"chunk {args['index']} of transfer {command.request_id} arrived without "
                                  "chunk 0; send the transfer again from the start")
            return None
        if args["size"] > self.settings.max_bytes:
            self._abandoned = command.request_id
            self._answer(command, f"the bundle is {args['size']} bytes, more than the {self.settings.max_bytes} "
                                  "allowed ([update] max_bytes)")
            return None
        path = self.store.new_download()
        self._transfer = _Transfer(command, path, open(path, "wb"), last_seen=time.monotonic())
        return self._transfer

    def _complete(self, transfer: _Transfer) -> None:
        self._transfer = None
        transfer.handle.close()
        size = transfer.first.args["size"]
        if transfer.received != size:
            transfer.path.unlink(missing_ok=True)
            self._answer(transfer.first, f"transfer was truncated: {transfer.received} of {size} bytes arrived")
            return
        self._verify_and_offer(transfer.path, transfer.first, f"mqtt transfer {transfer.first.request_id}")

    def _abort(self, why: str) -> None:
        transfer, self._transfer = self._transfer, None
        if transfer is None:
            return
        self._abandoned = transfer.first.request_id
        transfer.handle.close()
        transfer.path.unlink(missing_ok=True)
        self._answer(transfer.first, f"transfer abandoned after {transfer.next_index} of "
                                     f"{transfer.first.args['total']} chunks: {why}")

    def _check_idle(self) -> None:
        if self._transfer is not None and time.monotonic() - self._transfer.last_seen > IDLE_S:
            self._abort(f"no chunk for {IDLE_S:g} s")

    def _answer(self, command: Command, reason: str | None) -> None:
        if reason is not None:
            log.warning("update %s refused: %s", command.request_id, reason)
        self._reply({"command": "update", "request_id": command.request_id, "ok": reason is None,
                     "reason": reason, "sha256": command.args.get("sha256")})
