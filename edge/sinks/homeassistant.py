"""Home Assistant MQTT discovery: the anomaly as a binary_sensor, the score as a sensor.

Both read the retained status topic, which the pipeline re-publishes at every
event start and end, so the binary sensor flips without waiting for the
periodic status.
"""

from __future__ import annotations

import json

__all__ = ["discovery_messages"]


def discovery_messages(device_id: str, status_topic: str, availability_topic: str,
                       discovery_prefix: str = "homeassistant") -> list[tuple[str, str]]:
    """``(topic, retained JSON payload)`` pairs announcing the device's entities."""
    device = {"identifiers": [f"edgewatch_{device_id}"], "name": f"edgewatch {device_id}",
              "manufacturer": "edgewatch", "model": "edge-infer"}
    common = {"state_topic": status_topic, "availability_topic": availability_topic,
              "payload_available": "online", "payload_not_available": "offline", "device": device}
    anomaly = {**common, "name": "Anomaly", "unique_id": f"edgewatch_{device_id}_anomaly",
               "device_class": "problem", "value_template": "{{ 'ON' if value_json.anomaly else 'OFF' }}"}
    score = {**common, "name": "Anomaly score", "unique_id": f"edgewatch_{device_id}_score",
             "state_class": "measurement", "value_template": "{{ value_json.last_score }}"}
    node = f"edgewatch_{device_id}"
    return [
        (f"{discovery_prefix}/binary_sensor/{node}/anomaly/config", json.dumps(anomaly)),
        (f"{discovery_prefix}/sensor/{node}/score/config", json.dumps(score)),
    ]
