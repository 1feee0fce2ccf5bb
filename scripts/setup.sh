#!/usr/bin/env bash
# One-stop set-up for a fresh Debian machine (run as root, or with sudo available):
# installs the Debian packages edgewatch uses (mosquitto and its clients, python3-venv, PortAudio for
# microphones, and for the tests gcc, g++, openssl, a user-mode PulseAudio as the virtual microphone,
# sox and espeak-ng for audio fixtures, socat for serial pty pairs), creates .venv with
# the project and its host extras, then runs what you asked for.
#
#   bash scripts/setup.sh demo      # the end-to-end demo on generated data
#   bash scripts/setup.sh test      # the test suite
#   bash scripts/setup.sh bench     # the conversion benchmark
#   bash scripts/setup.sh install   # only install
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
APT_PACKAGES=(mosquitto mosquitto-clients python3-venv gcc g++ openssl
              libportaudio2 pulseaudio pulseaudio-utils libasound2-plugins sox espeak-ng socat)

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

install_debian_packages() {
    local missing=()
    command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
    command -v mosquitto_passwd >/dev/null 2>&1 || missing+=(mosquitto-clients mosquitto)
    "$PYTHON" -c "import ensurepip, venv" >/dev/null 2>&1 || missing+=(python3-venv)
    for tool in gcc g++ openssl pulseaudio paplay sox espeak-ng socat; do
        command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
    done
    for lib in libportaudio2 libasound2-plugins; do  # libraries: no command to look for
        dpkg-query -W -f='${Status}' "$lib" 2>/dev/null | grep -q "ok installed" || missing+=("$lib")
    done
    if [ ${#missing[@]} -gt 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing Debian packages: ${APT_PACKAGES[*]}"
        as_root apt-get update -qq
        DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${APT_PACKAGES[@]}" >/dev/null
    fi
}

install_python_packages() {
    local stamp=.venv/.edgewatch-installed want
    want=$(sha256sum pyproject.toml | cut -d' ' -f1)
    [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        echo "installing edgewatch[convert,dev,serial,firmware,audio,camera] into .venv (TensorFlow included: about a minute)"
        .venv/bin/python -m pip install -q --upgrade pip
        .venv/bin/python -m pip install -q -e '.[convert,dev,serial,firmware,audio,camera]'
        echo "$want" > "$stamp"
    fi
}

# A second, light venv where LiteRT and onnxruntime are absent and tflite-runtime (whose last release,
# 2.14, needs numpy<2) is the only backend: the tests run edge-infer in it to prove the fallback for real.
install_tflite_runtime_venv() {
    local stamp=.venv-tflite/.edgewatch-installed want
    want=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)
    [ -x .venv-tflite/bin/python ] || "$PYTHON" -m venv .venv-tflite
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        echo "installing the tflite-runtime test venv (.venv-tflite)"
        .venv-tflite/bin/python -m pip install -q 'tflite-runtime==2.14.*' 'numpy<2' 'paho-mqtt>=2.1,<3' \
            'typer>=0.12' 'rich>=13' 'cryptography>=42'
        .venv-tflite/bin/python -m pip install -q --no-deps -e .
        echo "$want" > "$stamp"
    fi
}

install_debian_packages
install_python_packages
install_tflite_runtime_venv
export PATH="$PWD/.venv/bin:$PATH"

what=${1:-install}
shift || true
case "$what" in
    demo) exec edgewatch demo "$@" ;;
    test) exec python -m pytest "$@" ;;
    bench) exec python benchmarks/convert_bench.py "$@" ;;
    install) echo "installed: activate with 'source .venv/bin/activate'" ;;
    *) echo "usage: bash scripts/setup.sh [demo|test|bench|install]" >&2; exit 2 ;;
esac
