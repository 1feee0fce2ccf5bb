"""Signed model updates against a real broker, a real edge-infer and a real HTTP server on loopback.

Each refused update must leave the old model running and say why on the reply
topic; a good one must swap between windows without losing any, and survive a restart.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest

from conftest import run_cli
from edge.bundle import load_bundle
from edge.sinks import MqttConfig
from edge.sinks.mqtt_client import ShortClient
from test_delivery import _fast_stream
from test_mqtt_sink import unique_device
from update_helpers import FileServer, bundle_variant, keygen, sign


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    root = tmp_path_factory.mktemp("keys")
    return {"trusted": (root / "host.pem", keygen(root / "host.pem")),
            "other": (root / "other.pem", keygen(root / "other.pem"))}


def _config(tmp_path: Path, trained_bundle, broker, device: str, trusted: list[str], source: Path) -> Path:
    config = tmp_path / f"{device}.toml"
    config.write_text(
        f'bundle = "{trained_bundle.bundle}"\nsource = "file:{source}"\ndevice_id = "{device}"\nrate = "real"\n'
        f'outbox = "{tmp_path / "outbox.sqlite"}"\n[mqtt]\nurl = "{broker.url}"\n'
        f'[update]\ntrusted_keys = {json.dumps(trusted)}\ndir = "{tmp_path / "updates"}"\nprobation_windows = 5\n')
    return config


def _start(config: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "edgewatch.infer", "--config", str(config), "--quiet"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


class Device:
    """Talks to a running edge-infer: sends commands and waits for the reply to each."""

    def __init__(self, broker, device: str) -> None:
        self.config = MqttConfig.from_url(broker.url, device_id=device)
        self.client = ShortClient(self.config, role="test")

    def __enter__(self) -> "Device":
        self.client.connect()
        assert self.client.subscribe(self.config.topic("reply")) and self.client.subscribe(self.config.topic("status"))
        assert self.client.wait(lambda m: m.topic.endswith("/status"), 30), "edge-infer did not come up"
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()

    def update(self, request_id: str, timeout: float = 20.0, **payload) -> dict:
        self.client.publish(self.config.topic("cmd/update"), json.dumps({"request_id": request_id, **payload}))
        answer = self.client.wait(lambda m: m.topic.endswith("/reply")
                                  and json.loads(m.payload).get("request_id") == request_id, timeout)
        assert answer is not None, f"no reply to {request_id}"
        return json.loads(answer.payload)

    def last_status(self) -> dict:
        return json.loads([m for m in self.client.messages() if m.topic.endswith("/status")][-1].payload)


def _expected_windows(trained_bundle) -> int:
    spec = load_bundle(trained_bundle.bundle).input
    rows = len(trained_bundle.data.stream_csv.read_text().splitlines()) - 1
    return (rows - spec.window) // spec.hop + 1


def test_refused_updates_keep_the_old_model_and_a_good_one_swaps_without_losing_a_window(
        trained_bundle, mqtt_broker, keys, tmp_path):
    device = unique_device()
    (host_key, host_public), (other_key, _) = keys["trusted"], keys["other"]
    good = sign(bundle_variant(trained_bundle.bundle, tmp_path / "v2", "pump-v2"), host_key)
    default_file = load_bundle(trained_bundle.bundle).variant().path.name  # the variant the device would run
    unloadable = sign(bundle_variant(trained_bundle.bundle, tmp_path / "bad", "pump-bad", corrupt=default_file),
                      host_key)
    nan = sign(bundle_variant(trained_bundle.bundle, tmp_path / "nan", "pump-nan", nan_scaler=True), host_key)
    foreign = sign(bundle_variant(trained_bundle.bundle, tmp_path / "foreign", "pump-x"), other_key)
    old_version = f"{load_bundle(trained_bundle.bundle).model_name}@"
    config = _config(tmp_path, trained_bundle, mqtt_broker, device, [host_public],
                     _fast_stream(trained_bundle, tmp_path))
    with FileServer() as files:
        proc = _start(config)
        with Device(mqtt_broker, device) as dev:
            wrong_hash = good.sha256[:-1] + ("0" if good.sha256[-1] != "0" else "1")
            refusals = {
                "signature": dev.update("u1", url=files.serve("f.tgz", foreign.path), sha256=foreign.sha256,
                                       signature=foreign.signature),
                "hash": dev.update("u2", url=files.serve("g.tgz", good.path), sha256=wrong_hash,
                                   signature=good.signature),
                "truncated": dev.update("u3", url=files.serve("t.tgz", good.path, truncate=True), sha256=good.sha256,
                                        signature=good.signature),
                "unloadable": dev.update("u4", url=files.serve("b.tgz", unloadable.path), sha256=unloadable.sha256,
                                         signature=unloadable.signature),
                "self-test": dev.update("u5", url=files.serve("n.tgz", nan.path), sha256=nan.sha256,
                                        signature=nan.signature),
                "missing": dev.update("u6", url=files.serve("g.tgz", good.path).replace("g.tgz", "nope.tgz"),
                                      sha256=good.sha256, signature=good.signature),
            }
            accepted = dev.update("u7", url=files.serve("g.tgz", good.path), sha256=good.sha256,
                                  signature=good.signature)
            assert proc.wait(timeout=60) == 0, proc.stderr.read()
            time.sleep(0.3)
            final = dev.last_status()
    schema = json.loads((Path(__file__).resolve().parent.parent / "docs" / "reply.schema.json").read_text())
    for answer in [*refusals.values(), accepted]:
        jsonschema.validate(answer, schema)
    for case, answer in refusals.items():
        assert answer["ok"] is False and answer["model"].startswith(old_version), (case, answer)
    assert "does not verify against any trusted key" in refusals["signature"]["reason"]
    assert "archive sha256 is" in refusals["hash"]["reason"]
    assert "was truncated" in refusals["truncated"]["reason"]
    assert f"cannot load {default_file}" in refusals["unloadable"]["reason"]
    assert "failed its self-test" in refusals["self-test"]["reason"] and "nan" in refusals["self-test"]["reason"]
    assert "HTTP 404" in refusals["missing"]["reason"]
    assert accepted["ok"] is True and accepted["model"].startswith("pump-v2@"), accepted
    assert final["model"].startswith("pump-v2@") and final["windows"] == _expected_windows(trained_bundle)
    assert final["events"] == len(trained_bundle.data.stream.anomalies)
    updates = tmp_path / "updates"
    assert os.readlink(updates / "current") == f"bundles/{good.sha256[:16]}"
    assert sorted(p.name for p in (updates / "bundles").iterdir() if p.is_dir()) == [good.sha256[:16]]
    assert list((updates / "staging").iterdir()) == []
    # a restart runs the updated bundle
    short = tmp_path / "short.csv"
    short.write_text("\n".join(trained_bundle.data.stream_csv.read_text().splitlines()[:200]) + "\n")
    config.write_text(config.read_text().replace('source = "file:', f'source = "file:{short}"\n#'))
    again = subprocess.run([sys.executable, "-m", "edgewatch.infer", "--config", str(config), "--quiet"],
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert f"running the updated bundle {good.sha256[:16]} (current)" in again.stderr
    assert f"model pump-v2 ({load_bundle(trained_bundle.bundle).variant().name} on " in again.stderr


def test_chunked_update_through_the_cli_and_its_refusals(trained_bundle, mqtt_broker, keys, tmp_path):
    device = unique_device()
    host_key, host_public = keys["trusted"]
    good = sign(bundle_variant(trained_bundle.bundle, tmp_path / "v3", "pump-v3"), host_key)
    config = _config(tmp_path, trained_bundle, mqtt_broker, device, [host_public],
                     _fast_stream(trained_bundle, tmp_path))
    proc = _start(config)
    with Device(mqtt_broker, device) as dev:
        chunk = {"total": 3, "size": 30, "sha256": good.sha256, "signature": good.signature}
        late_start = dev.update("c1", index=1, chunk="QUJD", **chunk)
        dev.client.publish(dev.config.topic("cmd/update"),
                           json.dumps({"request_id": "c2", "index": 0, "chunk": "QUJD", **chunk}))
        gap = dev.update("c2", index=2, chunk="QUJD", **chunk)
        too_big = dev.update("c3", index=0, chunk="QUJD", **{**chunk, "size": 1 << 30})
        sent = run_cli("edgewatch.cli", "update", "--archive", str(good.path), "--mqtt", mqtt_broker.url,
                       "--device-id", device, "--chunk-size", "4096", "--timeout", "30")
        assert proc.wait(timeout=60) == 0, proc.stderr.read()
    assert "arrived without chunk 0" in late_start["reason"]
    assert "chunk 2 arrived while chunk 1 was expected" in gap["reason"]
    assert "more than the 67108864 allowed" in too_big["reason"]
    assert sent.returncode == 0, sent.stderr
    answer = json.loads(sent.stdout.strip().splitlines()[-1])
    assert answer["ok"] is True and answer["model"].startswith("pump-v3@")
    assert os.readlink(tmp_path / "updates" / "current") == f"bundles/{good.sha256[:16]}"


def test_updates_are_refused_when_no_key_is_trusted(trained_bundle, mqtt_broker, keys, tmp_path):
    device = unique_device()
    good = sign(bundle_variant(trained_bundle.bundle, tmp_path / "v4", "pump-v4"), keys["trusted"][0])
    config = _config(tmp_path, trained_bundle, mqtt_broker, device, [], _fast_stream(trained_bundle, tmp_path))
    proc = _start(config)
    with Device(mqtt_broker, device) as dev:
        answer = dev.update("n1", url="http://127.0.0.1:9/x.tgz", sha256=good.sha256, signature=good.signature)
        proc.terminate()
        assert proc.wait(timeout=30) == 0
    assert answer["ok"] is False and "updates are off" in answer["reason"]
