"""Run a command in a child Python where the host-only packages cannot be imported: the device's situation.

The child installs an import blocker and runs ``edgewatch`` or ``edge-infer`` with the given arguments;
with ``report_loaded`` it prints ``HEAVY=<names>`` on stderr at exit: the heavy modules loaded anyway.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

HOST_ONLY = ("tensorflow", "keras", "tf_keras", "tf2onnx")

_CHILD = textwrap.dedent("""
    import atexit, sys
    BLOCKED = set(sys.argv[1].split(','))
    class Block:
        def find_spec(self, name, path=None, target=None):
            if name.split('.')[0] in BLOCKED:
                raise ImportError(f'{name} is not installed on this device')
    sys.meta_path.insert(0, Block())
    def report():
        heavy = BLOCKED | {'tensorflow', 'keras', 'tf_keras'}
        loaded = sorted(m for m in sys.modules if m.split('.')[0] in heavy)
        print('HEAVY=' + ','.join(loaded), file=sys.stderr)
    if sys.argv[2] == 'report':
        atexit.register(report)
    command, sys.argv = sys.argv[3], sys.argv[3:]
    if command == 'edge-infer':
        from edgewatch.infer import main
    else:
        from edgewatch.cli import main
    main()
""")


def run_without_tensorflow(command: str, *args: str, blocked: tuple[str, ...] = HOST_ONLY,
                           python: str = sys.executable, timeout: float = 300,
                           env: dict | None = None, report_loaded: bool = False) -> subprocess.CompletedProcess:
    """``command`` ('edgewatch' or 'edge-infer') with ``args``, the ``blocked`` top-level packages unimportable."""
    if command not in ("edgewatch", "edge-infer"):
        raise ValueError(f"unknown command {command!r}")
    return subprocess.run([str(python), "-c", _CHILD, ",".join(blocked),
                           "report" if report_loaded else "quiet", command, *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, env=env)


def heavy_modules_loaded(stderr: str) -> list[str]:
    """The module names the child reported in its ``HEAVY=`` line (empty: none loaded)."""
    line = [x for x in stderr.splitlines() if x.startswith("HEAVY=")][-1]
    return [name for name in line[len("HEAVY="):].split(",") if name]
