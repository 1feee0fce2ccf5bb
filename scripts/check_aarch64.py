#!/usr/bin/env python3
"""Does every runtime dependency of edgewatch have a wheel for the devices we promise? (developer script)

Asks PyPI through pip, as a device's ``pip install`` would, without installing:
``pip download --only-binary=:all: --platform ... --python-version ...`` per target
and per group (the base install and each device extra), dependencies included.
Prints a Markdown support matrix (the README's) and exits 1 if a promised
target lacks a wheel. Uses the network: it is not part of the test suite.

    python scripts/check_aarch64.py             # all targets
    python scripts/check_aarch64.py --only pi64
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXTRAS = ("audio", "camera", "serial")
OPTIONAL_BACKENDS = ("tflite-runtime",)


def manylinux(glibc_minor: int, arch: str) -> tuple[str, ...]:
    """Every manylinux tag a system with glibc 2.<minor> accepts: pip's --platform does not expand them."""
    return tuple(f"manylinux_2_{m}_{arch}" for m in range(glibc_minor, 16, -1)) + (f"manylinux2014_{arch}",)


@dataclass(frozen=True)
class Target:
    key: str
    label: str
    python: str
    platforms: tuple[str, ...]
    promised: bool  # a missing wheel here is a failure, not a note


TARGETS = (
    Target("pi64", "Raspberry Pi OS 12 64-bit (aarch64, glibc 2.36, Python 3.11)", "3.11",
           manylinux(36, "aarch64"), True),
    Target("aarch64-2.28", "any aarch64 Linux with glibc 2.28 (the floor of onnxruntime's wheels), Python 3.11",
           "3.11", manylinux(28, "aarch64"), True),
    Target("jetson", "Jetson, JetPack 6 (Ubuntu 22.04, glibc 2.35, Python 3.10)", "3.10",
           manylinux(35, "aarch64"), True),
    Target("pi32", "Raspberry Pi OS 32-bit (armv7l, glibc 2.36, Python 3.11)", "3.11",
           manylinux(36, "armv7l") + ("linux_armv7l",), False),
)


def requirements() -> dict[str, list[str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    groups = {"base": list(project["dependencies"])}
    for extra in EXTRAS:
        groups[extra] = list(project["optional-dependencies"][extra])
    groups["optional backends"] = list(OPTIONAL_BACKENDS)
    return groups


def download(target: Target, reqs: list[str], dest: Path) -> tuple[bool, str]:
    abi = "cp" + target.python.replace(".", "")
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--progress-bar", "off", "--only-binary=:all:",
               "--python-version", target.python, "--implementation", "cp", "--abi", abi, "--abi", "abi3",
               "--abi", "none", "--dest", str(dest)]
    for platform in target.platforms:
        command += ["--platform", platform]
    done = subprocess.run(command + reqs, capture_output=True, text=True, timeout=900)
    errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR")]
    last = done.stderr.strip().splitlines()[-1:] or [""]
    return done.returncode == 0, errors[0] if errors else last[0]


def wheel_tags(dest: Path) -> dict[str, str]:
    """``{distribution: "version (platform tag)"}`` of the wheels pip chose."""
    found = {}
    for wheel in sorted(dest.glob("*.whl")):
        name, version, *_, platform = wheel.stem.split("-")
        found[name.lower().replace("_", "-")] = f"{version} ({platform})"
    return found


def check_group(target: Target, group: str, reqs: list[str]) -> list[tuple[str, str, bool]]:
    """One row per requirement: (requirement, what pip found, ok)."""
    rows = []
    for req in reqs:
        if ";" in req:  # pip judges markers by the running Python, not --python-version: do it here
            if "python_version < '3.11'" in req and target.python >= "3.11":
                continue
            req = req.split(";", 1)[0].strip()
        name = re.split(r"[<>=!~;\[ ]", req, maxsplit=1)[0].lower().replace("_", "-")
        with tempfile.TemporaryDirectory() as tmp:
            ok, error = download(target, [req], Path(tmp))
            found = wheel_tags(Path(tmp)).get(name, "")
        rows.append((req, found if ok else "no wheel" + (f" ({error[:100]})" if "satisfies" not in error else ""), ok))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=[t.key for t in TARGETS], action="append")
    args = parser.parse_args()
    failed = False
    for target in TARGETS:
        if args.only and target.key not in args.only:
            continue
        print(f"\n### {target.label}\n\n| group | requirement | wheel pip chose |\n|---|---|---|")
        for group, reqs in requirements().items():
            for req, found, ok in check_group(target, group, reqs):
                print(f"| {group} | `{req}` | {found} |", flush=True)
                failed |= target.promised and group != "optional backends" and not ok
    print("\nresult:", "a promised target lacks a wheel" if failed else "every promised target resolves")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
