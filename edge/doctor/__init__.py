"""``edgewatch doctor``: checks a device end to end and says what to fix.

Each check returns one ``Check`` line (OK, WARN or FAIL, with the fix); the
CLI prints them and exits 1 if any failed. The checks read the same
``InferSettings`` as ``edge-infer``, so the broker, TLS files, credentials,
outbox and update directory checked are the ones the service will use.
"""

from edge.doctor.base import Check, Level
from edge.doctor.run import run_checks

__all__ = ["Check", "Level", "run_checks"]
