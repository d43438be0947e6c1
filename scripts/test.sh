#!/usr/bin/env bash
# Runs the whole test suite with real parts (redis-server, ffmpeg, an RTSP server, chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
mkdir -p test/.artifacts
# Layering first: an import across the layers fails the run before any test starts.
npx tsx scripts/check-layers.ts
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json=test/.artifacts/vitest.json "$@" || status=$?
# One plain closing line, whatever the reporter printed above it.
node -e '
  const r = JSON.parse(require("fs").readFileSync("test/.artifacts/vitest.json", "utf8"));
  console.log(`Tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
' || true
exit $status
