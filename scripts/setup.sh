#!/usr/bin/env bash
# One-time machine setup for a fresh Debian bookworm machine (run as root, or with sudo).
# - Mesa's software Vulkan driver (lavapipe) from bookworm-backports: Dawn needs mesa >= 25,
#   bookworm's own mesa 22 is too old.
# - Node dependencies (npm ci).
# Optional: SETUP_TORCH=1 installs Debian's python3-torch, used only to regenerate test fixtures.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

need_mesa=1
if ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1; then
  ver=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || echo 0)
  case "$ver" in 2[5-9].*|[3-9][0-9].*) need_mesa=0 ;; esac
fi

if [ "$need_mesa" = 1 ] && command -v apt-get >/dev/null; then
  # Add bookworm-backports with the same URI and key as the machine's existing Debian entry.
  if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    uri=$(grep -rhs '^URIs:.*debian$' /etc/apt/sources.list.d/ | head -n1 | awk '{print $2}')
    key=$(grep -rhs '^Signed-By:.*debian-archive' /etc/apt/sources.list.d/ | head -n1 | awk '{print $2}')
    if [ -z "$uri" ]; then
      uri=$(grep -hs '^deb .*debian ' /etc/apt/sources.list | head -n1 | awk '{print $2}')
    fi
    uri=${uri:-http://deb.debian.org/debian}
    key=${key:-/usr/share/keyrings/debian-archive-keyring.gpg}
    printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: %s\n' "$uri" "$key" \
      | $SUDO tee /etc/apt/sources.list.d/bookworm-backports.sources >/dev/null
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers >/dev/null
fi

if [ "${SETUP_TORCH:-0}" = 1 ] && command -v apt-get >/dev/null; then
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-torch >/dev/null
fi

# Optional: Debian's chromium for tests/browser.test.ts (the library on a browser's navigator.gpu,
# headless, through Chromium's bundled SwiftShader). Idempotent; SETUP_CHROMIUM=0 skips it; a
# failed install only warns (the browser test then skips, or fails with CI=true).
if [ "${SETUP_CHROMIUM:-1}" = 1 ] && command -v apt-get >/dev/null \
  && ! command -v chromium >/dev/null && [ ! -x /usr/lib/chromium/chromium ]; then
  if ! apt-cache policy chromium 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    $SUDO apt-get update -qq || true
  fi
  if ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null; then
    echo "setup: could not install chromium; the browser test will skip (fail with CI=true)" >&2
  fi
fi

if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
echo "setup done: $(dpkg-query -W -f='mesa-vulkan-drivers ${Version}' mesa-vulkan-drivers 2>/dev/null || true)"
