#!/usr/bin/env bash
# Quick start: installs what is missing, builds, and runs the gateway on its embedded defaults
# (private Redis, demo city and cameras). The wall's URL and demo logins are printed at start.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -z "${GRIDWATCH_CONFIG:-}" ]; then
  cat <<'MSG'
  Demo logins (config/gateway.yaml):  admin / gridwatch-admin   (全市 city admin)
                                      duanzhou / gridwatch-dz   (端州区 operator)
                                      dinghu / gridwatch-dh     (鼎湖区 operator)
                                      viewer / gridwatch-view   (只读 viewer)
MSG
fi
exec node dist/app/main.js --config "${GRIDWATCH_CONFIG:-config/gateway.yaml}" "$@"
