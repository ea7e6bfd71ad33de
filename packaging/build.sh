#!/usr/bin/env bash
# Builds the desktop application: a PyInstaller one-folder bundle with the CPU build of torch.
#   bash packaging/build.sh            -> build/bundle/dist/ganstudio/ganstudio   (+ a .tar.gz)
# Environment: GANSTUDIO_WHEEL=path.whl (use this wheel instead of building one),
#              BUNDLE_PYTHON (the Python 3.11 to build with; default python3.11 / python3).
# Steps: build the wheel -> a throwaway venv (build/bundle/venv) with CPU torch 2.13.0 -> install
# the wheel (not editable) -> PyInstaller (packaging/ganstudio.spec) -> size report.
#
# torch / torchvision: torch 2.13.0 CPU lies on this machine's disk; torchvision has no CPU wheel
# on PyPI for Linux, and PyPI's 0.28.0 (the release for torch 2.13) is built for CUDA: its
# operators library cannot load beside CPU torch and its _meta_registrations.py then fails on
# `register_fake("torchvision::nms")` at import. GAN Studio needs no torchvision operator (only
# spandrel's pure-Python torchvision.transforms.functional calls), so the bundle takes 0.28.0's
# Python part: the CUDA-only _C.so / image.so are dropped and the two unguarded fake registrations
# are guarded like the others (a checked, exact text edit; the build stops if the file differs).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/build/bundle
VENV=$OUT/venv
mkdir -p "$OUT"  # (a clean clone has no build/: the logs below live beside it)
export PIP_DISABLE_PIP_VERSION_CHECK=1
t0=$(date +%s)
PY=${BUNDLE_PYTHON:-$(command -v python3.11 || command -v python3)}
# pip, quiet, without the local index's "Location ... is ignored" noise; pip's status is kept.
pipq() { "$VENV/bin/python" -m pip install -q "$@" 2>&1 | { grep -v '^WARNING: Location' || true; }; return "${PIPESTATUS[0]}"; }

if [ -n "${GANSTUDIO_WHEEL:-}" ]; then
  rm -rf "$OUT/wheel"; mkdir -p "$OUT/wheel"; cp "$GANSTUDIO_WHEEL" "$OUT/wheel/"
  WHEEL=$OUT/wheel/$(basename "$GANSTUDIO_WHEEL")
else
  rm -rf "$OUT/wheel"
  BPY=$ROOT/.venv/bin/python
  [ -x "$BPY" ] && "$BPY" -c "import build" 2>/dev/null || BPY=$PY
  "$BPY" -m build --wheel --no-isolation -o "$OUT/wheel" "$ROOT" >"$OUT.wheel.log" 2>&1 \
    || { tail -40 "$OUT.wheel.log"; exit 1; }
  WHEEL=$(ls "$OUT"/wheel/ganstudio-*.whl)
fi
echo "wheel: $WHEEL"

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import torch; assert torch.__version__.startswith('2.13.0') and not torch.cuda.is_available()" 2>/dev/null; then
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
  pipq torch==2.13.0
  pipq --no-deps torchvision==0.28.0
fi
TV=$("$VENV/bin/python" -c "import importlib.util as u, pathlib; print(pathlib.Path(u.find_spec('torchvision').origin).parent)")
rm -f "$TV/_C.so" "$TV/image.so"
"$VENV/bin/python" - "$TV/_meta_registrations.py" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
guard = "torchvision.extension._has_ops() else (lambda f: f))"
for op in ("nms", "qnms"):
    old = f'@torch.library.register_fake("torchvision::{op}")\n'
    new = f'@(torch.library.register_fake("torchvision::{op}") if {guard}\n'
    if new in s:
        continue
    if s.count(old) != 1:
        sys.exit(f"unexpected {p}: cannot guard the {op} registration (torchvision changed?)")
    s = s.replace(old, new)
open(p, "w").write(s)
PY
pipq --force-reinstall --no-deps "$WHEEL"
pipq "$WHEEL" pyinstaller
(cd "$OUT" && "$VENV/bin/python" -) <<'PY'
import torch, torchvision, ganstudio.paths as p
from torchvision.transforms.functional import rotate
assert not torch.cuda.is_available() and "+cpu" in torch.__version__, torch.__version__
assert p.LAYOUT == "wheel", p.LAYOUT
print("build venv:", "torch", torch.__version__, "torchvision", torchvision.__version__, "ganstudio data", p.ROOT)
PY
t1=$(date +%s)

rm -rf "$OUT/dist"  # (the work folder is PyInstaller's cache: kept)
# From a folder outside the checkout: PyInstaller must find ganstudio in the venv, not in ./ganstudio.
(cd "$OUT" && "$VENV/bin/pyinstaller" --noconfirm --log-level WARN --distpath "$OUT/dist" \
    --workpath "$OUT/work" "$ROOT/packaging/ganstudio.spec") >"$OUT.pyinstaller.log" 2>&1 \
  || { tail -60 "$OUT.pyinstaller.log"; exit 1; }
APP=$OUT/dist/ganstudio
# Strip the symbol tables of the largest libraries that carry them (dynamic symbols stay): ~110 MB.
# Only these: a blanket `strip` (PyInstaller's strip=True) breaks the auditwheel/patchelf-repaired
# libraries of numpy & co. ("ELF load command address/offset not page-aligned", seen here).
for f in "$APP"/_internal/torch/lib/libtorch_cpu.so "$APP"/_internal/torch/lib/libtorch_python.so \
         "$APP"/_internal/torch/lib/libc10.so "$APP"/_internal/libpython3.*.so.1.0; do
  [ -f "$f" ] && command -v strip >/dev/null && strip --strip-unneeded "$f"
done
t2=$(date +%s)
# desktop integration inside the bundle: ganstudio/install.sh puts the menu entry, icons,
# metainfo and MIME types into ~/.local/share (ganstudio/uninstall.sh takes them out)
ID=io.github.ganstudio.GANStudio
install -D -m644 packaging/linux/$ID.desktop "$APP/share/applications/$ID.desktop"
install -D -m644 packaging/linux/$ID.metainfo.xml "$APP/share/metainfo/$ID.metainfo.xml"
install -D -m644 packaging/linux/$ID-mime.xml "$APP/share/mime/packages/$ID.xml"
(cd resources/icons && find hicolor -type f -name "$ID.*" -exec install -D -m644 {} "$APP/share/icons/{}" \;)
install -m755 packaging/linux/install.sh packaging/linux/uninstall.sh "$APP/"
tar -C "$OUT/dist" -czf "$OUT/ganstudio-linux-x86_64.tar.gz" ganstudio
t3=$(date +%s)
echo "bundle: $APP"
echo "size: $(du -sh "$APP" | cut -f1) on disk, $(du -sh "$OUT/ganstudio-linux-x86_64.tar.gz" | cut -f1) as .tar.gz"
echo "times: venv+wheel $((t1 - t0)) s, pyinstaller $((t2 - t1)) s, tar $((t3 - t2)) s"
du -sh "$APP"/_internal/* 2>/dev/null | sort -h | tail -12
