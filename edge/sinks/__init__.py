"""Alert sinks: where decided alerts go (``mqtt`` or ``stdout``).

``MqttSink`` imports paho-mqtt only when it connects, so this package imports
without it.
"""

from __future__ import annotations

from edge.sinks.base import DeliveryReport, Sink
from edge.sinks.mqtt import MqttSink
from edge.sinks.mqtt_config import MqttConfig
from edge.sinks.stdout import JsonLinesSink

__all__ = ["Sink", "DeliveryReport", "MqttConfig", "MqttSink", "JsonLinesSink"]
