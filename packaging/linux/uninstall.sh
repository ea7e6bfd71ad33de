#!/usr/bin/env bash
# Removes what install.sh installed (its manifest lists every file), then refreshes the caches.
#   bash uninstall.sh [--prefix DIR]
# The model cache and user settings (~/.cache/GANStudio, ~/.local/share/GANStudio) are kept:
# delete them by hand to remove downloaded models and preferences too.
set -euo pipefail
PREFIX=""
[ "${1:-}" = "--prefix" ] && PREFIX=$2
if [ -n "$PREFIX" ]; then DATA=$PREFIX/share; else DATA=${XDG_DATA_HOME:-$HOME/.local/share}; fi
MANIFEST=$DATA/ganstudio/installed-files.txt
[ -f "$MANIFEST" ] || { echo "GAN Studio's desktop integration is not installed in $DATA"; exit 0; }
while IFS= read -r f; do
  case $f in "$DATA"/*|*/bin/ganstudio) ;; *) echo "skipping $f (outside $DATA)" >&2; continue;; esac
  if [ -L "$f" ] || [ -f "$f" ]; then rm -f "$f"; fi
  d=$(dirname "$f")
  # empty folders go too, but not the ones the caches below are rebuilt from
  while case $d in "$DATA"|/|"$DATA/mime/packages"|"$DATA/applications"|"$DATA/icons/hicolor") false;; *) true;; esac \
        && rmdir "$d" 2>/dev/null; do d=$(dirname "$d"); done
done <"$MANIFEST"
rm -f "$MANIFEST"; rmdir "$DATA/ganstudio" 2>/dev/null || true
command -v update-mime-database >/dev/null && [ -d "$DATA/mime" ] && update-mime-database "$DATA/mime" >/dev/null 2>&1 || true
command -v update-desktop-database >/dev/null && [ -d "$DATA/applications" ] && update-desktop-database -q "$DATA/applications" || true
command -v gtk-update-icon-cache >/dev/null && [ -d "$DATA/icons/hicolor" ] && gtk-update-icon-cache -q -t -f "$DATA/icons/hicolor" || true
echo "GAN Studio desktop integration removed from $DATA"
