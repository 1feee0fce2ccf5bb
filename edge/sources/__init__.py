"""Data sources, one small plugin each, chosen by the ``--source`` spec through :data:`SOURCES`.

    file:PATH                      CSV, WAV or video replay (``--rate max|real``)
    serial:PORT?baud=..&format=..  framed protocol or numeric lines from a UART
    mic[:NAME_OR_INDEX][?rate=..]  a PortAudio input device (edgewatch[audio])
    camera:INDEX|URL|FILE          OpenCV capture: device, HTTP MJPEG, RTSP, file (edgewatch[camera])
    stdin                          numeric lines piped in

Plugins are imported only when chosen, so a missing optional dependency is
reported (``MissingDependencyError`` with the pip command) only by the source
that needs it.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from edge.errors import ConfigError
from edge.sources.base import Chunk, Source, StreamRequest

__all__ = ["Chunk", "Source", "StreamRequest", "SourcePlugin", "SOURCES", "open_source"]


@dataclass(frozen=True)
class SourcePlugin:
    """Where a source lives: ``module.function(arg, request) -> Source``, and its spec form."""

    module: str
    function: str
    usage: str

    def load(self):
        return getattr(importlib.import_module(self.module), self.function)


SOURCES: Mapping[str, SourcePlugin] = MappingProxyType({
    "file": SourcePlugin("edge.sources.file", "open_file", "file:PATH.csv|.wav|.mp4"),
    "serial": SourcePlugin("edge.sources.serial", "open_serial_source", "serial:PORT?baud=115200&format=frames"),
    "mic": SourcePlugin("edge.sources.mic", "open_mic", "mic[:NAME_OR_INDEX]"),
    "camera": SourcePlugin("edge.sources.camera", "open_camera", "camera:INDEX|URL|FILE"),
    "stdin": SourcePlugin("edge.sources.stdin", "open_stdin", "stdin"),
})


def open_source(spec: str, columns: Sequence[str], rate: str = "max", sample_rate: float | None = None,
                media: str = "rows") -> Source:
    """Build the source named by ``spec`` for a bundle's stream, checking what it can before streaming.

    Args:
        spec: ``KIND[:ARG]``, a key of :data:`SOURCES` and its argument.
        columns: raw columns the bundle needs, in order.
        rate: replay pace, ``max`` or ``real``.
        sample_rate: samples (or frames) per second the bundle expects, if known.
        media: ``rows``, ``audio`` or ``video`` (what the bundle's features take).

    Raises:
        ConfigError: unknown kind or malformed argument. SourceError: the device cannot be opened.
        MissingDependencyError: the plugin's optional extra is not installed.
    """
    cut = min((i for i in (spec.find(":"), spec.find("?")) if i >= 0), default=len(spec))
    kind, arg = spec[:cut], spec[cut + 1:] if cut < len(spec) and spec[cut] == ":" else spec[cut:]
    plugin = SOURCES.get(kind.strip().lower())
    if plugin is None or (kind in ("file", "serial", "camera") and not arg):
        forms = ", ".join(p.usage for p in SOURCES.values())
        raise ConfigError(f"unknown source {spec!r}; use one of: {forms}")
    request = StreamRequest(tuple(columns), sample_rate, media, rate)
    return plugin.load()(arg, request)
