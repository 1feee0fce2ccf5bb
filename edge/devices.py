"""What this machine offers edge-infer: audio inputs, cameras, serial ports, backends, the broker.

Each probe imports its optional library lazily and reports a missing one with
the install command instead of failing, so ``edgewatch devices`` always prints
the whole picture. Cameras are probed by opening them and reading one frame
(on Linux only the ``/dev/videoN`` that exist, so absent ones cost nothing).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import platform
import ssl
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from edge.errors import EdgewatchError, MissingDependencyError
from edge.sinks.mqtt_config import MqttConfig

__all__ = ["Probe", "DeviceReport", "list_audio_inputs", "probe_cameras", "list_serial_ports", "list_backends",
           "probe_broker", "survey"]

BACKEND_MODULES = (  # name, module to import, distribution, how to install
    ("litert", "ai_edge_litert.interpreter", "ai-edge-litert", "pip install ai-edge-litert"),
    ("tflite_runtime", "tflite_runtime.interpreter", "tflite-runtime", "pip install tflite-runtime"),
    ("onnxruntime", "onnxruntime", "onnxruntime", "pip install onnxruntime"),
)


@dataclass
class Probe:
    """One section of the report: the items found, or why none could be listed."""

    items: list[dict] = field(default_factory=list)
    error: str | None = None


@dataclass
class DeviceReport:
    audio_inputs: Probe
    cameras: Probe
    serial_ports: Probe
    backends: Probe
    broker: Probe | None

    def to_dict(self) -> dict:
        return asdict(self)


def list_audio_inputs() -> Probe:
    """PortAudio input devices: index, name, channels, default rate, which one is the default."""
    try:
        from edge.sources.mic import sounddevice_module

        sd = sounddevice_module()
        default = sd.default.device[0] if sd.default.device else -1
        devices = sd.query_devices()
    except MissingDependencyError as exc:
        return Probe(error=str(exc))
    except Exception as exc:  # noqa: BLE001 - PortAudio's own errors: reported, not raised
        return Probe(error=f"PortAudio failed to list devices: {exc}")
    items = [{"index": d["index"], "name": d["name"], "channels": d["max_input_channels"],
              "default_rate": d["default_samplerate"], "default": d["index"] == default, "source": f"mic:{d['index']}"}
             for d in devices if d["max_input_channels"] > 0]
    return Probe(items)


def probe_cameras(indices: range = range(5)) -> Probe:
    """Camera indices OpenCV can open and read a frame from."""
    try:
        from edge.sources.camera import cv2_module

        cv2 = cv2_module()
    except MissingDependencyError as exc:
        return Probe(error=str(exc))
    linux = platform.system() == "Linux"
    items = []
    for index in indices:
        if linux and not Path(f"/dev/video{index}").exists():
            continue
        capture = cv2.VideoCapture(index)
        try:
            ok, frame = capture.read() if capture.isOpened() else (False, None)
            if ok and frame is not None:
                items.append({"index": index, "width": int(frame.shape[1]), "height": int(frame.shape[0]),
                              "fps_reported": capture.get(cv2.CAP_PROP_FPS), "backend": capture.getBackendName(),
                              "source": f"camera:{index}"})
        finally:
            capture.release()
    return Probe(items)


def list_serial_ports() -> Probe:
    """Serial ports pyserial finds (USB adapters, on-board UARTs)."""
    try:
        from serial.tools import list_ports
    except ImportError:
        return Probe(error="serial sources need pyserial: pip install 'edgewatch[serial]'")
    return Probe([{"device": p.device, "description": p.description, "hwid": p.hwid,
                   "source": f"serial:{p.device}?baud=115200"} for p in sorted(list_ports.comports())])


def list_backends() -> Probe:
    """Which inference runtimes import here, with their versions, or how to install them."""
    items = []
    for name, module, dist, install in BACKEND_MODULES:
        try:
            importlib.import_module(module)
        except Exception as exc:  # noqa: BLE001 - ImportError, or a broken binary wheel
            items.append({"name": name, "available": False, "install": install,
                          "reason": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"})
            continue
        try:
            version = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            version = None
        items.append({"name": name, "available": True, "version": version})
    return Probe(items)


def probe_broker(config: MqttConfig, timeout: float = 3.0) -> Probe:
    """Connect (with the config's TLS and credentials), wait for the CONNACK, disconnect; publish nothing."""
    import paho.mqtt.client as mqtt

    answered, reason = threading.Event(), {}

    def on_connect(client, userdata, flags, code, properties=None) -> None:
        reason["code"] = str(code)
        reason["ok"] = not code.is_failure
        answered.set()

    protocol = mqtt.MQTTv5 if config.protocol == "5" else mqtt.MQTTv311
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"edgewatch-probe-{time.monotonic_ns()}",
                         protocol=protocol)
    client.on_connect = on_connect
    if config.username is not None:
        client.username_pw_set(config.username, config.password)
    began = time.monotonic()
    try:
        if config.tls:
            client.tls_set(ca_certs=config.ca_file, certfile=config.cert_file, keyfile=config.key_file,
                           cert_reqs=ssl.CERT_REQUIRED)
            client.tls_insecure_set(config.insecure)
        client.connect(config.host, config.port, keepalive=10)
    except (OSError, ssl.SSLError, ValueError) as exc:
        return Probe([{"address": config.address, "answers": False}], error=f"{type(exc).__name__}: {exc}")
    client.loop_start()
    try:
        got = answered.wait(timeout)
    finally:
        client.disconnect()
        client.loop_stop()
    item = {"address": config.address, "answers": got and bool(reason.get("ok")),
            "connack": reason.get("code"), "ms": round((time.monotonic() - began) * 1000, 1)}
    error = None if item["answers"] else (f"refused: {reason['code']}" if got else f"no CONNACK within {timeout:g} s")
    return Probe([item], error=error)


def survey(broker: MqttConfig | None = None) -> DeviceReport:
    """Every probe; never raises for a missing extra or an absent device."""
    try:
        broker_probe = probe_broker(broker) if broker is not None else None
    except EdgewatchError as exc:
        broker_probe = Probe(error=str(exc))
    return DeviceReport(list_audio_inputs(), probe_cameras(), list_serial_ports(), list_backends(), broker_probe)
