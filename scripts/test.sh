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
# The detection evaluation on the shared footage (issue 10): precision and recall per rule and
# model, failing when the configured model misses the targets (about 75 s on this machine). Only
# for the whole suite: a run of chosen test files skips it.
eval_status=0
if [ $# -eq 0 ]; then
  npx tsx scripts/eval.ts --check || eval_status=$?
  [ "$eval_status" -eq 0 ] || echo "eval: targets missed or eval failed (exit $eval_status)"
fi
# One plain closing line, whatever the reporter printed above it.
node -e '
  const r = JSON.parse(require("fs").readFileSync("test/.artifacts/vitest.json", "utf8"));
  console.log(`Tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
' || true
[ "$status" -ne 0 ] || status=$eval_status
exit $status
