#!/usr/bin/env bash
# One-time set-up on a fresh Debian 12 / Ubuntu machine (idempotent; re-running is cheap):
#   system packages (SoapySDR, libiio, compiler), a virtualenv in .venv with the CPU build of torch
#   and the project in editable mode, the Debian SoapySDR binding made visible to the venv, and our
#   own SoapySDR loopback device module built with CMake.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

APT_PKGS="python3-soapysdr libsoapysdr-dev soapysdr-tools libiio0 cmake g++ chromium chromium-driver"
missing=""
for p in $APT_PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "[setup] apt-get install$missing"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi

if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv"
  "$PY" -m venv .venv
  .venv/bin/pip install -q --upgrade pip
fi
# The CPU wheel of torch first: an open range would pull a multi-GB CUDA build.
.venv/bin/python -c "import torch" 2>/dev/null || .venv/bin/pip install -q torch==2.13.0
stamp=.venv/.vlmcsc-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "[setup] pip install -e .[test,pluto,ray]"
  .venv/bin/pip install -q -e ".[test,pluto,ray]"
  touch "$stamp"
fi

# Debian's SoapySDR binding (built for the system Python 3.11) into the venv via a .pth file.
site=$(.venv/bin/python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
if [ -f /usr/lib/python3/dist-packages/SoapySDR.py ]; then
  mkdir -p .venv/soapysdr
  ln -sf /usr/lib/python3/dist-packages/SoapySDR.py .venv/soapysdr/SoapySDR.py
  for so in /usr/lib/python3/dist-packages/_SoapySDR*.so; do ln -sf "$so" .venv/soapysdr/; done
  echo "$(pwd)/.venv/soapysdr" > "$site/vlmcsc-soapysdr.pth"
fi

# Our SoapySDR device module (loopback with delay, gain, noise) for tests and rehearsals.
if [ -f sdr/soapy_loopback/CMakeLists.txt ]; then
  cmake -S sdr/soapy_loopback -B build/soapy_loopback -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build/soapy_loopback -j 2 >/dev/null
fi
# Compile the receiver's numba kernels once (~1 min of CPU; cached in phy/__pycache__), so the
# first receiver of every later process loads them in about a second.
echo "[setup] compiling the receiver kernels (numba, cached)"
.venv/bin/python -c "from vlmcsc.phy import StreamingReceiver; StreamingReceiver()"
echo "[setup] done"
