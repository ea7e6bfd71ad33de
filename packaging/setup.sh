#!/usr/bin/env bash
# Sets up GAN Studio in ./.venv on a fresh machine (idempotent; a second run only checks).
#   bash packaging/setup.sh          the app
#   bash packaging/setup.sh --test   the app + test tools, and the Debian packages that the
#                                    real-window (Xvfb) test, the desktop-file / AppStream
#                                    validators and the install smoke (strace) need, when run as
#                                    root or with sudo
set -euo pipefail
cd "$(dirname "$0")/.."
want_test=0
[ "${1:-}" = "--test" ] && want_test=1

if [ "$want_test" = 1 ] && command -v apt-get >/dev/null 2>&1; then
  pkgs="xvfb libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0
        libxcb-xinerama0 libxcb-randr0 libxcb-render-util0 libxcb-image0 libegl1 libgl1
        libfontconfig1 libdbus-1-3
        desktop-file-utils appstream shared-mime-info strace"
  missing=$(for p in $pkgs; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
  if [ -n "$missing" ]; then
    sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo -n"
    echo "installing Debian packages: $missing"
    # (another apt run may hold the lock for a while: wait for it, and try again once)
    apt_ok=0
    for try in 1 2; do
      if $sudo apt-get -o DPkg::Lock::Timeout=300 update -qq >/tmp/ganstudio-apt.log 2>&1 \
         && $sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
              $missing >>/tmp/ganstudio-apt.log 2>&1; then apt_ok=1; break; fi
      [ "$try" = 1 ] && sleep 30
    done
    [ "$apt_ok" = 1 ] || { tail -5 /tmp/ganstudio-apt.log >&2
      echo "warning: could not install $missing (the real-window test will be skipped)" >&2; }
  fi
fi

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# torch first, pinned: these wheels lie on local disk here; an unpinned torch can pull GBs.
.venv/bin/python -c "import torch, torchvision" 2>/dev/null \
  || .venv/bin/python -m pip install -q torch==2.14.1 torchvision==0.29.1
if [ "$want_test" = 1 ]; then
  .venv/bin/python -m pip install -q -e '.[test,bench]'
else
  .venv/bin/python -m pip install -q -e .
fi
echo "GAN Studio is set up in .venv"
