#!/usr/bin/env bash
# Quick start: installs what is missing, builds, and runs the gateway on its embedded defaults
# (private Redis, demo city and cameras). The wall's URL and demo logins are printed at start.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node dist/gateway/main.js --config "${GRIDWATCH_CONFIG:-config/gateway.yaml}" "$@"
