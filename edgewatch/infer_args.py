"""``edge-infer``'s command line, on argparse: Typer and pydantic would add ~15 MB to a resident process.

The flags fill the same ``InferSettings`` as the TOML file (flags win).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from edge.settings import InferSettings

__all__ = ["build_parser", "settings_from", "FLAGS"]


@dataclass(frozen=True)
class Flag:
    """One option: its dest, type, help, and where it goes in ``InferSettings`` (``mqtt.`` for the table)."""

    dest: str
    type: type
    help: str
    setting: str | None = None


FLAGS = (
    Flag("bundle", Path, "Bundle directory written by 'edgewatch convert'."),
    Flag("source", str, "Where samples come from: file:PATH (.csv .wav .mp4 ...), mic[:NAME_OR_INDEX], "
         "camera:INDEX|URL, serial:PORT?baud=115200&format=frames|lines, stdin."),
    Flag("mqtt", str, "Broker URL mqtt://HOST:PORT or mqtts://HOST:PORT; alerts go to stdout without it.", "mqtt.url"),
    Flag("device_id", str, "Device id, used in topics and alerts (default edge)."),
    Flag("topic_prefix", str, "First topic level(s) (default edgewatch).", "mqtt.topic_prefix"),
    Flag("mqtt_protocol", str, "MQTT protocol: 5 or 3.1.1 (default 5).", "mqtt.protocol"),
    Flag("mqtt_ca", str, "CA certificate that signed the broker's (mqtts://).", "mqtt.ca_file"),
    Flag("mqtt_cert", str, "Client certificate (mqtts://).", "mqtt.cert_file"),
    Flag("mqtt_key", str, "Client certificate's key (mqtts://).", "mqtt.key_file"),
    Flag("variant", str, "Bundle variant to run (default: the manifest's)."),
    Flag("backend", str, "Force a backend: litert, tflite_runtime or onnxruntime (default: the first installed, "
                         "in that order)."),
    Flag("rate", str, "File replay pace: 'max' or 'real' (the data's own rate)."),
    Flag("threshold", float, "Override the calibrated threshold."),
    Flag("k", int, "Hits among the last N windows that start an event."),
    Flag("n", int, "Debounce span in windows."),
    Flag("cooldown", float, "Seconds after an event before another may start.", "cooldown_s"),
    Flag("release", int, "Windows without a hit that end an event."),
    Flag("end_ratio", float, "A window below the event's peak divided by this also counts as quiet; the next "
                             "event waits until a score is back under the threshold (default: the bundle's)."),
    Flag("outbox", Path, "SQLite file where alerts wait until the broker acknowledges them "
                         "(default ~/.local/state/edgewatch/DEVICE/outbox.sqlite)."),
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="edge-infer",
        description="Stream SOURCE through the bundle's model and publish one alert per anomalous event.",
        epilog="MQTT credentials come from EDGEWATCH_MQTT_USERNAME / EDGEWATCH_MQTT_PASSWORD or the config file, "
               "never flags.")
    parser.add_argument("--config", type=Path, help="TOML file with any of these settings; flags override it.")
    for flag in FLAGS:
        parser.add_argument("--" + flag.dest.replace("_", "-"), dest=flag.dest, type=flag.type, help=flag.help,
                            metavar=flag.dest.upper() if flag.type is not Path else "PATH")
    parser.add_argument("--insecure", action="store_const", const=True, default=None,
                        help="Do not verify the broker's host name (lab use only).")
    parser.add_argument("--quiet", "-q", action="store_true", help="No live status line.")
    return parser


def settings_from(args: argparse.Namespace) -> InferSettings:
    """The config file's settings with every given flag on top."""
    base = InferSettings.from_toml(args.config) if args.config else InferSettings()
    top, mqtt = {}, {"insecure": args.insecure}
    for flag in FLAGS:
        setting = flag.setting or flag.dest
        if setting.startswith("mqtt."):
            mqtt[setting[5:]] = getattr(args, flag.dest)
        else:
            top[setting] = getattr(args, flag.dest)
    return base.with_overrides(mqtt=mqtt, **top)
