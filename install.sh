#!/usr/bin/env bash
# Install Hotline QA on a fresh machine: system packages (headless Chromium for the UI tests),
# a virtual environment in .venv with the product and its test tools, and the embedded ASR
# model assembled into the data directory. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1 \
    || ! fc-list :lang=zh 2>/dev/null | grep -q .; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq || true
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver fonts-wqy-microhei >/dev/null \
      || echo "warning: could not install chromium (browser tests will be skipped)" >&2
  fi
fi

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -e '.[dev]'
.venv/bin/hotline-qa models install
