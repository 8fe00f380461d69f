#!/usr/bin/env bash
# Installs everything the tests need on a fresh Debian machine with Node 20, as root:
# the Debian packages behind the end-to-end tests (real Django, WhiteNoise, gunicorn,
# PostgreSQL, OpenSSH, HAProxy, git, and the Python libraries of moto, the AWS API emulator),
# moto itself (into .cache/moto) and the node modules. Safe to run again: it skips what is
# already there. The tests start and stop their own services on 127.0.0.1.
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
  # nft -c checks the boot script's nftables rules (test/remote/accounts.spec.ts); nothing is applied
  nftables
  # moto 5.2.3 (AWS API emulator, test/support/moto.ts) runs on Debian's Python libraries:
  python3-boto3
  python3-botocore
  python3-werkzeug
  python3-jinja2
  python3-responses
  python3-xmltodict
  python3-cryptography
  python3-dateutil
  python3-requests
  python3-flask
  python3-flask-cors
  python3-yaml
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

# moto: from the vendored tarball beside the repository (../shared/vendor, or FLEET_VENDOR_DIR)
# when there is one, else from PyPI into a virtualenv. Either way .cache/moto/server starts it
# ("server -H 127.0.0.1 -p PORT"); test/support/moto.ts runs that launcher and nothing else.
MOTO_VERSION=5.2.3
MOTO_DIR=.cache/moto
MOTO_TARBALL="${FLEET_VENDOR_DIR:-../shared/vendor}/moto-$MOTO_VERSION.tar.gz"
if [ ! -x "$MOTO_DIR/server" ] || ! grep -q "moto $MOTO_VERSION" "$MOTO_DIR/server"; then
  rm -rf "$MOTO_DIR" && mkdir -p "$MOTO_DIR"
  if [ -f "$MOTO_TARBALL" ]; then
    echo "setup: moto $MOTO_VERSION from $MOTO_TARBALL"
    tar -xzf "$MOTO_TARBALL" -C "$MOTO_DIR"
    test -f "$MOTO_DIR/moto-$MOTO_VERSION/moto/server.py"
    launch="PYTHONNOUSERSITE=1 PYTHONPATH=\"\$here/moto-$MOTO_VERSION\" exec /usr/bin/python3 -m moto.server \"\$@\""
  else
    echo "setup: moto $MOTO_VERSION from PyPI (no $MOTO_TARBALL)"
    # Debian's packages above satisfy its dependencies: pip adds moto itself (the same libraries as the tarball path).
    /usr/bin/python3 -m venv --system-site-packages "$MOTO_DIR/venv"
    "$MOTO_DIR/venv/bin/pip" install --quiet "moto[server]==$MOTO_VERSION"
    launch="PYTHONNOUSERSITE=1 exec \"\$here/venv/bin/python\" -m moto.server \"\$@\""
  fi
  printf '#!/bin/sh\n# moto %s, written by scripts/setup.sh\nhere=$(cd "$(dirname "$0")" && pwd)\n%s\n' "$MOTO_VERSION" "$launch" > "$MOTO_DIR/server.tmp"
  chmod +x "$MOTO_DIR/server.tmp" && mv "$MOTO_DIR/server.tmp" "$MOTO_DIR/server"
fi

if [ -L node_modules ]; then
  # A shared install linked in (a git worktree): npm ci would empty the link's target.
  echo "setup: node_modules is a link to $(readlink node_modules): left as it is"
elif [ -n "${CI:-}" ] || [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
