#!/usr/bin/env bash
# npm run rehearse -- [options]: the local rehearsal (rehearsal/cli.ts; --help lists the options).
# On a fresh Debian machine with Node 20, as root, it first installs what it needs
# (scripts/setup.sh: Debian packages and node modules), then runs the rehearsal with ts-node
# (transpile-only), passing the arguments through. Set-up output goes to stderr, so that
# `--json` leaves exactly one JSON object on stdout.
set -uo pipefail
cd "$(dirname "$0")/.."

if ! bash scripts/setup.sh >&2; then
  echo "rehearse: scripts/setup.sh failed; the rehearsal's own check follows" >&2
fi
if [ ! -e node_modules/ts-node/register/transpile-only.js ]; then
  echo "rehearse: node modules are missing: run \`npm ci\` (or \`bash scripts/setup.sh\`) first" >&2
  exit 2
fi
exec node -r ts-node/register/transpile-only rehearsal/cli.ts "$@"
