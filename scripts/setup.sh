#!/usr/bin/env bash
# Installs everything the tests need on a fresh Debian machine with Node 20, as root:
# the Debian packages behind the end-to-end tests (real Django, WhiteNoise, gunicorn,
# PostgreSQL, OpenSSH, HAProxy, git) and the node modules. Safe to run again: it skips
# what is already there. The tests start and stop their own services on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(
  git
  python3-django
  python3-whitenoise
  python3-psycopg2
  python3-venv
  python3-pip
  gunicorn
  postgresql
  openssh-server
  openssh-client
  haproxy
)

missing=()
for p in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  # policy-rc.d keeps the packages' own services from starting: the tests start theirs.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ -n "${CI:-}" ] || [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
