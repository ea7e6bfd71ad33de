#!/usr/bin/env bash
# User-level desktop integration for GAN Studio on Linux (no root): the menu entry, hicolor icons,
# AppStream metainfo, the OpenRaster MIME type and "open with" for .ora and the image formats,
# and a `ganstudio` command in ~/.local/bin.
#   bash install.sh [--exec PATH] [--prefix DIR] [--no-bin]
#     --exec    the ganstudio executable the menu entry starts (default: the bundle this script
#               sits in, else `ganstudio` on PATH, e.g. a pip-installed wheel)
#     --prefix  install under DIR/share (default: $XDG_DATA_HOME, i.e. ~/.local/share)
#   bash uninstall.sh [--prefix DIR]   removes exactly what this script installed
# Works from the bundle (ganstudio/install.sh, data in ganstudio/share/) and from a checkout
# (packaging/linux/install.sh, icons from resources/icons/hicolor).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
APP_ID=io.github.ganstudio.GANStudio
EXEC=""; PREFIX=""; BIN=1
while [ $# -gt 0 ]; do
  case $1 in
    --exec) EXEC=$2; shift 2;;
    --prefix) PREFIX=$2; shift 2;;
    --no-bin) BIN=0; shift;;
    -h|--help) sed -n '2,12p' "$0"; exit 0;;
    *) echo "unknown option $1" >&2; exit 2;;
  esac
done
if [ -d "$HERE/share/applications" ]; then       # inside the bundle
  SRC=$HERE/share
  DESKTOP=$SRC/applications/$APP_ID.desktop; META=$SRC/metainfo/$APP_ID.metainfo.xml
  MIME=$SRC/mime/packages/$APP_ID.xml; ICONS=$SRC/icons/hicolor
  [ -n "$EXEC" ] || EXEC=$HERE/ganstudio
else                                            # a checkout: packaging/linux
  DESKTOP=$HERE/$APP_ID.desktop; META=$HERE/$APP_ID.metainfo.xml
  MIME=$HERE/$APP_ID-mime.xml; ICONS=$HERE/../../resources/icons/hicolor
  [ -n "$EXEC" ] || EXEC=$(command -v ganstudio || true)
fi
[ -n "$EXEC" ] && [ -x "$EXEC" ] || { echo "no ganstudio executable found: pass --exec PATH" >&2; exit 1; }
EXEC=$(cd "$(dirname "$EXEC")" && pwd)/$(basename "$EXEC")
if [ -n "$PREFIX" ]; then DATA=$PREFIX/share; BINDIR=$PREFIX/bin
else DATA=${XDG_DATA_HOME:-$HOME/.local/share}; BINDIR=$HOME/.local/bin; fi
MANIFEST=$DATA/ganstudio/installed-files.txt
mkdir -p "$DATA/ganstudio"
: >"$MANIFEST.new"

put() {  # put SRC DEST: copy one file, record it
  mkdir -p "$(dirname "$2")"; cp -f "$1" "$2"; chmod 0644 "$2"; echo "$2" >>"$MANIFEST.new"
}
# the menu entry, starting this executable (Exec quoted per the Desktop Entry spec)
q=$(printf '%s' "$EXEC" | sed 's/\\/\\\\\\\\/g; s/"/\\"/g; s/`/\\`/g; s/\$/\\$/g')
mkdir -p "$DATA/applications"
sed -e "s|^Exec=ganstudio |Exec=\"$q\" |" -e "s|^TryExec=.*|TryExec=$EXEC|" "$DESKTOP" \
  >"$DATA/applications/$APP_ID.desktop"
echo "$DATA/applications/$APP_ID.desktop" >>"$MANIFEST.new"
put "$META" "$DATA/metainfo/$APP_ID.metainfo.xml"
put "$MIME" "$DATA/mime/packages/$APP_ID.xml"
for f in "$ICONS"/*/apps/"$APP_ID".*; do
  size=$(basename "$(dirname "$(dirname "$f")")")
  put "$f" "$DATA/icons/hicolor/$size/apps/$(basename "$f")"
done
if [ "$BIN" = 1 ]; then
  mkdir -p "$BINDIR"
  if [ ! -e "$BINDIR/ganstudio" ] || [ -L "$BINDIR/ganstudio" ]; then
    ln -sfn "$EXEC" "$BINDIR/ganstudio"; echo "$BINDIR/ganstudio" >>"$MANIFEST.new"
  else
    echo "note: $BINDIR/ganstudio exists and is not ours; left alone"
  fi
fi
# keep files of an earlier install that this one did not write in the manifest (uninstall removes them)
[ -f "$MANIFEST" ] && cat "$MANIFEST" >>"$MANIFEST.new"
sort -u "$MANIFEST.new" >"$MANIFEST"; rm -f "$MANIFEST.new"

refresh() {
  command -v update-mime-database >/dev/null && update-mime-database "$DATA/mime" >/dev/null 2>&1 || true
  command -v update-desktop-database >/dev/null && update-desktop-database -q "$DATA/applications" || true
  command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t -f "$DATA/icons/hicolor" || true
}
refresh
if command -v desktop-file-validate >/dev/null; then desktop-file-validate "$DATA/applications/$APP_ID.desktop"; fi
echo "GAN Studio desktop integration installed in $DATA (starts $EXEC); undo: bash $(dirname "$0")/uninstall.sh${PREFIX:+ --prefix $PREFIX}"
