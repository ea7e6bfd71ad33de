#!/usr/bin/env bash
# CI: build the sdist and the wheel (`python -m build`: the wheel is built from the sdist), check
# what they carry, install the wheel (not editable) into a fresh venv with torch from the README's
# pin, and run the smoke set (packaging/smoke_set.sh) from a folder outside the checkout.
#   bash packaging/smoke_wheel.sh [WORK_DIR]
# SMOKE_TORCH=install (default): pip install the pinned torch/torchvision into the fresh venv
#             (the CUDA build: ~5.5 GB, minutes); link: hard-link the checkout venv's copy of
#             exactly those pinned packages into the fresh venv (seconds, no extra disk; falls back
#             to install when that venv has another torch or lies on another file system);
#             everything else is a fresh install from the index either way.
set -euo pipefail
CHECKOUT=$(cd "$(dirname "$0")/.." && pwd)
W=${1:-$(mktemp -d /tmp/ganstudio-smoke-wheel.XXXXXX)}
mkdir -p "$W"
PY=$CHECKOUT/.venv/bin/python           # has `build` (the [test] extra)
BASE=$("$PY" -c "import sys; print(sys._base_executable)")
export PIP_DISABLE_PIP_VERSION_CHECK=1
PIN=$(grep -o 'torch==[0-9.]* torchvision==[0-9.]*' "$CHECKOUT/packaging/setup.sh" | head -1)
pipq() { "$W/venv/bin/python" -m pip install -q "$@" 2>&1 | { grep -v '^WARNING: Location' || true; }; return "${PIPESTATUS[0]}"; }
stamp() { date +%s; }
T0=$(stamp)

echo "== build (sdist, then the wheel from it)"
rm -rf "$W/dist"
"$PY" -m build --no-isolation -o "$W/dist" "$CHECKOUT" >"$W/build.log" 2>&1 || { tail -40 "$W/build.log"; exit 1; }
"$PY" "$CHECKOUT/packaging/smoke_check.py" wheel "$W/dist" "$CHECKOUT"
T1=$(stamp)

echo "== fresh venv ($BASE), torch: ${SMOKE_TORCH:-install} ($PIN)"
rm -rf "$W/venv"
"$BASE" -m venv "$W/venv"
MODE=${SMOKE_TORCH:-install}
if [ "$MODE" = link ]; then
  # Only when the checkout venv holds exactly the pinned builds; hard links, so the fresh venv has
  # its own copy (its own paths, nothing opened through the checkout) at no disk or time cost.
  "$PY" -c "import sys, importlib.metadata as m; want = dict(r.split('==') for r in sys.argv[1:]); \
sys.exit(any(m.version(k).split('+')[0] != v for k, v in want.items()))" $PIN || { echo "checkout venv torch is not $PIN: installing"; MODE=install; }
fi
if [ "$MODE" = link ]; then
  SITE=$("$PY" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
  NEW=$("$W/venv/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
  # torch, torchvision, the CUDA runtime packages and triton: the modules and their dist-info
  # (torch's pure-Python requirements, sympy & co., are installed from the index with the wheel)
  for d in "$SITE"/torch "$SITE"/torchgen "$SITE"/functorch "$SITE"/torchvision "$SITE"/torchvision.libs \
           "$SITE"/nvidia "$SITE"/triton "$SITE"/cuda "$SITE"/cuda_bindings* "$SITE"/cuda_pathfinder* \
           "$SITE"/torch-*.dist-info "$SITE"/torchvision-*.dist-info "$SITE"/nvidia_*.dist-info \
           "$SITE"/triton-*.dist-info "$SITE"/cuda_*.dist-info; do
    # (the globs overlap, e.g. cuda_bindings* and cuda_*.dist-info: each entry once)
    if [ -e "$d" ] && [ ! -e "$NEW/$(basename "$d")" ]; then
      cp -al "$d" "$NEW/" 2>/dev/null || { rm -rf "${NEW:?}/$(basename "$d")"; MODE=install; break; }
    fi
  done
  [ "$MODE" = link ] || echo "cannot hard-link the checkout venv's torch (another file system?): installing"
fi
if [ "$MODE" != link ]; then
  rm -rf "$W/venv"; "$BASE" -m venv "$W/venv"
  pipq $PIN
fi
T2=$(stamp)
echo "== install the wheel (dependencies from the index)"
pipq "$W"/dist/ganstudio-*.whl
"$W/venv/bin/python" -m pip check
T3=$(stamp)
SIZE=$(du -sm "$W/venv" | cut -f1)
( cd "$W" && "$W/venv/bin/python" -c "import ganstudio.paths as p, sys; assert p.LAYOUT == 'wheel', p.LAYOUT; print('installed data:', p.ROOT)" )

SMOKE_SOURCE=$("$W/venv/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])") \
  CHECK_PY=$PY bash "$CHECKOUT/packaging/smoke_set.sh" "$W/venv/bin/ganstudio" wheel "$W/smoke"
T4=$(stamp)
{
  echo "wheel smoke timings (s): build $((T1 - T0)), venv+torch $((T2 - T1)), wheel+deps $((T3 - T2)), smoke set $((T4 - T3)), total $((T4 - T0))"
  echo "venv size: ${SIZE} MB (torch: $MODE)"
  ls -l "$W"/dist/
} | tee "$W/report.txt"
