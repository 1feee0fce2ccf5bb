"""Arena trials for TFLite Micro, isolated from the caller: ``python -m firmware_bridge.export._arena_worker``.

    _arena_worker MODEL search      smallest arena that allocates and invokes (JSON on stdout)
    _arena_worker MODEL try N       one trial at N bytes (JSON on stdout)

Each trial runs in a forked child (POSIX), because a slightly too small arena
can crash TFLite Micro's LSTM kernel instead of failing ``AllocateTensors``.
Without ``os.fork`` the trials run in this worker, which may then die; the
caller reports that.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
from pathlib import Path

import numpy as np

LIMIT = 64 << 20  # no microcontroller arena is larger


def _attempt(model: bytes, size: int) -> None:
    """Allocate with ``size`` bytes and invoke once on zeros; raises on failure."""
    from firmware_bridge.export.tflm import tflm_runtime

    interp = tflm_runtime().Interpreter.from_bytes(model, arena_size=size)
    details = interp.get_input_details(0)
    interp.set_input(np.zeros(details["shape"], dtype=details["dtype"]), 0)
    interp.invoke()


def trial(model: bytes, size: int) -> dict:
    """``{"size", "ok", "reason"}`` for one arena size, run in a forked child where possible."""
    if not hasattr(os, "fork"):
        try:
            _attempt(model, size)
        except (RuntimeError, ValueError) as exc:
            return {"size": size, "ok": False, "reason": str(exc)}
        return {"size": size, "ok": True, "reason": ""}
    with tempfile.TemporaryFile() as said:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # child: never returns
            os.dup2(said.fileno(), 1)
            os.dup2(said.fileno(), 2)
            try:
                _attempt(model, size)
            except BaseException:  # noqa: BLE001 - the exit code carries the verdict
                os._exit(1)
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        said.seek(0)
        lines = [line for line in said.read().decode("utf-8", "replace").splitlines() if line.strip()]
    code = os.waitstatus_to_exitcode(status)
    if code == 0:
        return {"size": size, "ok": True, "reason": ""}
    reason = lines[0] if lines else "TFLM failed to allocate tensors"
    if code < 0:
        reason = f"TFLite Micro crashed ({signal.Signals(-code).name}) after: {reason}"
    return {"size": size, "ok": False, "reason": reason}


def search(model: bytes, start: int = 1024) -> dict:
    """Smallest working arena by doubling then bisection, assuming success is monotone in size."""
    trials, below = 0, None
    low, high = 0, start
    while True:
        result, trials = trial(model, high), trials + 1
        if result["ok"]:
            break
        below, low, high = result, high, high * 2
        if high > LIMIT:
            return {"error": f"TFLite Micro could not run the model with up to {LIMIT} bytes: {result['reason']}"}
    while high - low > 1:
        middle = (low + high) // 2
        result, trials = trial(model, middle), trials + 1
        if result["ok"]:
            high = middle
        else:
            low, below = middle, result
    return {"minimum": high, "trials": trials, "below": below, "allocations": _allocations(model, high)}


def _allocations(model: bytes, size: int) -> list[str]:
    from firmware_bridge.export.tflm import TflmRunner

    with TflmRunner(model, size) as runner:
        details = runner.input_details()
        runner.run(np.zeros(details["shape"], dtype=details["dtype"]))
        return runner.allocations()


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[1] not in ("search", "try") or (argv[1] == "try" and len(argv) != 3):
        print(__doc__, file=sys.stderr)
        return 2
    model = Path(argv[0]).read_bytes()
    result = search(model) if argv[1] == "search" else trial(model, int(argv[2]))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
