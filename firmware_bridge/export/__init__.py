"""Firmware export: a bundle's INT8 model as TensorFlow Lite Micro sources.

``export_tflm`` checks the model's ops against TFLite Micro (refusing, by op
name, what it lacks), writes the flatbuffer as a 16-byte-aligned C array, a
``MicroMutableOpResolver<N>`` with exactly the model's ops, the tensor arena
size (measured with the ``tflite-micro`` interpreter when installed, else an
estimate) and a one-window example, and compares TFLite Micro with LiteRT on
the same INT8 inputs. Guide: ``docs/firmware-export.md``.

    EdgewatchError
    └── ModelLoadError
        └── UnsupportedOpsError    the model uses ops TFLite Micro lacks (``problems``)
"""

from __future__ import annotations

from firmware_bridge.export.agreement import Agreement, compare_outputs, litert_int8_outputs, tflm_int8_outputs
from firmware_bridge.export.arena import ArenaSize, ArenaTrial, arena_for, estimate_arena, measure_arena, probe_arena
from firmware_bridge.export.carray import c_array_sources
from firmware_bridge.export.exporter import (MODEL_HEADER, REPORT_NAME, TFLITE_NAME, FirmwareExport,
                                             FirmwareOptions, export_tflm, int8_variant)
from firmware_bridge.export.ops import TFLM_RESOLVER_METHODS, OpProblem, UnsupportedOpsError, model_ops, preflight
from firmware_bridge.export.tflm import TflmRunner, tflm_version

__all__ = [
    "MODEL_HEADER",
    "REPORT_NAME",
    "TFLITE_NAME",
    "TFLM_RESOLVER_METHODS",
    "Agreement",
    "ArenaSize",
    "ArenaTrial",
    "FirmwareExport",
    "FirmwareOptions",
    "OpProblem",
    "TflmRunner",
    "UnsupportedOpsError",
    "arena_for",
    "c_array_sources",
    "compare_outputs",
    "estimate_arena",
    "export_tflm",
    "int8_variant",
    "litert_int8_outputs",
    "measure_arena",
    "model_ops",
    "preflight",
    "probe_arena",
    "tflm_int8_outputs",
    "tflm_version",
]
