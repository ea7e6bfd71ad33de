#!/usr/bin/env bash
# CI, after the README's test command (.ci/run): prove that an INSTALLED GAN Studio works on this
# clean machine, with nothing read from the checkout (issue 14):
#   1. the desktop files validate (desktop-file-validate, appstreamcli validate): no error;
#   2. the wheel: built, installed into a fresh venv (not editable, torch from the README's pin),
#      the smoke set from a folder outside the checkout (packaging/smoke_wheel.sh);
#   3. the bundle: PyInstaller one-folder with CPU torch, built from that same wheel (built once),
#      unpacked outside the checkout, the same smoke set with no Python on PATH
#      (packaging/smoke_bundle.sh).
#   bash packaging/ci_install_smoke.sh [WORK_DIR]
# SMOKE_TORCH (default link here: the test venv's pinned torch, hard-linked; see smoke_wheel.sh).
# SMOKE_SKIP_BUNDLE=1: the wheel only (a machine where the bundle build does not fit).
set -euo pipefail
CHECKOUT=$(cd "$(dirname "$0")/.." && pwd)
W=${1:-$(mktemp -d /tmp/ganstudio-ci-smoke.XXXXXX)}
mkdir -p "$W"
export SMOKE_STRICT=1 SMOKE_TORCH=${SMOKE_TORCH:-link} PIP_DISABLE_PIP_VERSION_CHECK=1
T0=$(date +%s)

echo "== desktop files: validators"
ID=io.github.ganstudio.GANStudio
for tool in desktop-file-validate appstreamcli; do
  command -v "$tool" >/dev/null || { echo "$tool is not installed (packaging/setup.sh --test installs it)" >&2; exit 1; }
done
out=$(desktop-file-validate "$CHECKOUT/packaging/linux/$ID.desktop" 2>&1) || { echo "$out" >&2; exit 1; }
[ -z "$out" ] || { echo "desktop-file-validate: $out" >&2; exit 1; }
appstreamcli validate --no-net --explain "$CHECKOUT/packaging/linux/$ID.metainfo.xml"
echo "validators: no error"
T1=$(date +%s)

echo "== wheel"
bash "$CHECKOUT/packaging/smoke_wheel.sh" "$W/wheel"
T2=$(date +%s)

if [ -z "${SMOKE_SKIP_BUNDLE:-}" ]; then
  echo "== bundle (from the wheel above)"
  WHEEL=$(ls "$W"/wheel/dist/ganstudio-*.whl)
  GANSTUDIO_WHEEL=$WHEEL bash "$CHECKOUT/packaging/smoke_bundle.sh" "$W/bundle"
else
  echo "== bundle skipped (SMOKE_SKIP_BUNDLE)"
fi
T3=$(date +%s)
# the venvs and the unpacked bundle are large; the reports stay
rm -rf "$W/wheel/venv" "$W/bundle/app"
echo "== install smoke passed: validators $((T1 - T0)) s, wheel $((T2 - T1)) s, bundle $((T3 - T2)) s, total $((T3 - T0)) s"
cat "$W/wheel/report.txt" "$W/bundle/report.txt" 2>/dev/null || true
