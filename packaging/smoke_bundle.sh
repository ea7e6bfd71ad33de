#!/usr/bin/env bash
# CI: build the desktop bundle (packaging/build.sh: PyInstaller, CPU torch), unpack its .tar.gz
# outside the checkout and run the smoke set with no Python environment on PATH; then the
# bundle's own user-level desktop install / uninstall into a temporary prefix.
#   bash packaging/smoke_bundle.sh [WORK_DIR]     (SMOKE_BUNDLE_PREBUILT=1: skip the build)
set -euo pipefail
CHECKOUT=$(cd "$(dirname "$0")/.." && pwd)
W=${1:-$(mktemp -d /tmp/ganstudio-smoke-bundle.XXXXXX)}
mkdir -p "$W"
T0=$(date +%s)
[ -n "${SMOKE_BUNDLE_PREBUILT:-}" ] || bash "$CHECKOUT/packaging/build.sh" | tee "$W/build.txt"
T1=$(date +%s)
TAR=$CHECKOUT/build/bundle/ganstudio-linux-x86_64.tar.gz
rm -rf "$W/app" && mkdir -p "$W/app"
tar -C "$W/app" -xzf "$TAR"
APP=$W/app/ganstudio
SIZE_MB=$(du -sm "$APP" | cut -f1); TAR_MB=$(( $(stat -c %s "$TAR") / 1000000 ))
# the commands the bundle must have: those of the wheel it was built from
rm -rf "$W/src" && mkdir -p "$W/src"
"$CHECKOUT/.venv/bin/python" -c "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); \
z.extractall(sys.argv[2], [n for n in z.namelist() if n.startswith('ganstudio/commands/')])" \
  "$(ls "$CHECKOUT"/build/bundle/wheel/ganstudio-*.whl | head -1)" "$W/src"
touch "$W/unpacked"; sleep 1
SMOKE_SOURCE=$W/src CHECK_PY=$CHECKOUT/.venv/bin/python bash "$CHECKOUT/packaging/smoke_set.sh" "$APP/ganstudio" bundle "$W/smoke"
# the model cache stays outside the bundle: by default the user's cache folder, and nothing at all
# was written into the bundle by the whole smoke set
mkdir -p "$W/home2"
env -i HOME="$W/home2" PATH="$W/smoke/nopython" LANG=C.UTF-8 QT_QPA_PLATFORM=offscreen \
  "$APP/ganstudio" info --json >"$W/info_default.json"
"$CHECKOUT/.venv/bin/python" -c "import json, sys; c = json.load(open(sys.argv[1]))['paths']['cache']; \
assert c.startswith(sys.argv[2] + '/.cache/'), c; print('default model cache:', c)" "$W/info_default.json" "$W/home2"
written=$(find "$APP" -newer "$W/unpacked" | head -20)
[ -z "$written" ] || { echo "the smoke set wrote into the bundle:" >&2; echo "$written" >&2; exit 1; }
# the bundle's desktop integration, as a user would run it
env -i HOME="$W/home" PATH=/usr/bin:/bin bash "$APP/install.sh" --prefix "$W/prefix"
grep -q "^Exec=\"$APP/ganstudio\" %F" "$W/prefix/share/applications/io.github.ganstudio.GANStudio.desktop"
if command -v desktop-file-validate >/dev/null; then
  out=$(desktop-file-validate "$W/prefix/share/applications/io.github.ganstudio.GANStudio.desktop" 2>&1) \
    && [ -z "$out" ] || { echo "installed .desktop entry: $out" >&2; exit 1; }
fi
env -i HOME="$W/home" PATH=/usr/bin:/bin bash "$APP/uninstall.sh" --prefix "$W/prefix"
[ ! -e "$W/prefix/share/applications/io.github.ganstudio.GANStudio.desktop" ]
T2=$(date +%s)
{
  echo "bundle: ${SIZE_MB} MB unpacked, ${TAR_MB} MB .tar.gz"
  echo "bundle smoke timings (s): build $((T1 - T0)), smoke set + desktop install $((T2 - T1))"
  grep -E "^(version|info|window_cold|window_warm) " "$W/smoke/summary.txt" || true
  grep -E "shown" "$W/smoke/summary.txt" || true
} | tee "$W/report.txt"
