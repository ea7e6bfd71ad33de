"""Linux desktop integration: the .desktop entry and AppStream metainfo validate, the hicolor icons
are the rendered app icon in the usual sizes, and install.sh / uninstall.sh (user level) install
the menu entry, icons, metainfo and MIME types, with "open with" for .ora and the image formats,
and remove all of it again."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import ganstudio

ROOT = Path(__file__).resolve().parents[2]
LINUX = ROOT / "packaging" / "linux"
APP_ID = "io.github.ganstudio.GANStudio"
DESKTOP = LINUX / f"{APP_ID}.desktop"
META = LINUX / f"{APP_ID}.metainfo.xml"
SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
FORMATS = ("image/png", "image/jpeg", "image/webp", "image/tiff", "image/bmp", "image/openraster")


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None, reason="desktop-file-utils not installed")
def test_desktop_entry_validates_clean() -> None:
    out = subprocess.run(["desktop-file-validate", str(DESKTOP)], capture_output=True, text=True)
    assert out.returncode == 0 and not (out.stdout + out.stderr).strip(), out.stdout + out.stderr


def test_desktop_entry_opens_the_supported_formats() -> None:
    entry = dict(line.split("=", 1) for line in DESKTOP.read_text().splitlines() if "=" in line)
    mimes = set(entry["MimeType"].rstrip(";").split(";"))
    assert set(FORMATS) <= mimes
    assert entry["Icon"] == APP_ID and entry["Exec"].endswith("%F")


@pytest.mark.skipif(shutil.which("appstreamcli") is None, reason="appstream not installed")
def test_metainfo_validates_clean() -> None:
    out = subprocess.run(["appstreamcli", "validate", "--no-net", "--explain", str(META)],
                         capture_output=True, text=True)
    text = out.stdout + out.stderr
    assert out.returncode == 0, text
    issues = [ln for ln in text.splitlines() if ln[:2] in ("E:", "W:", "I:")]
    assert not issues, text


def test_metainfo_has_screenshots_and_the_current_release() -> None:
    root = ET.parse(META).getroot()
    assert root.findtext("id") == APP_ID
    assert root.find("launchable").text == f"{APP_ID}.desktop"
    releases = root.findall("releases/release")
    assert releases and releases[0].get("version") == ganstudio.__version__
    shots = root.findall("screenshots/screenshot/image")
    assert shots
    for img in shots:  # the image the URL names is in the repository
        rel = img.text.split("/main/", 1)[1]
        assert (ROOT / rel).is_file(), rel
    provides = {m.text for m in root.findall("provides/mediatype")}
    assert set(FORMATS) <= provides


def test_hicolor_icons_are_up_to_date_in_every_size() -> None:
    from PIL import Image

    for n in SIZES:
        png = ROOT / "resources" / "icons" / "hicolor" / f"{n}x{n}" / "apps" / f"{APP_ID}.png"
        with Image.open(png) as im:
            assert im.size == (n, n) and im.mode == "RGBA"
    out = subprocess.run([sys.executable, str(ROOT / "packaging" / "make_icons.py"), "--check"],
                         capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))
    assert out.returncode == 0, out.stdout + out.stderr


def test_user_install_and_uninstall(tmp_path: Path) -> None:
    prefix = tmp_path / "prefix"
    exe = tmp_path / "app dir" / "ganstudio"
    exe.parent.mkdir()
    exe.write_text("#!/bin/sh\nexit 0\n")
    exe.chmod(0o755)
    env = dict(os.environ, HOME=str(tmp_path / "home"))
    run = lambda *a: subprocess.run(["bash", *a], capture_output=True, text=True, env=env, timeout=120)  # noqa: E731
    out = run(str(LINUX / "install.sh"), "--exec", str(exe), "--prefix", str(prefix))
    assert out.returncode == 0, out.stdout + out.stderr
    share = prefix / "share"
    desktop = share / "applications" / f"{APP_ID}.desktop"
    text = desktop.read_text()
    assert f'Exec="{exe}" %F' in text and f"TryExec={exe}" in text
    if shutil.which("desktop-file-validate"):
        v = subprocess.run(["desktop-file-validate", str(desktop)], capture_output=True, text=True)
        assert v.returncode == 0 and not v.stdout.strip(), v.stdout
    for n in SIZES:
        assert (share / "icons" / "hicolor" / f"{n}x{n}" / "apps" / f"{APP_ID}.png").is_file()
    assert (share / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg").is_file()
    assert (share / "metainfo" / f"{APP_ID}.metainfo.xml").is_file()
    assert (share / "mime" / "packages" / f"{APP_ID}.xml").is_file()
    assert (prefix / "bin" / "ganstudio").resolve() == exe.resolve()
    if shutil.which("update-desktop-database"):  # "open with": the MIME -> application cache
        cache = (share / "applications" / "mimeinfo.cache").read_text()
        for mime in FORMATS:
            assert f"{mime}=" in cache and f"{APP_ID}.desktop" in cache.split(f"{mime}=", 1)[1].split("\n")[0]
    if shutil.which("update-mime-database"):  # .ora is known as image/openraster
        assert "*.ora" in (share / "mime" / "globs2").read_text()
    # a second install is idempotent; uninstall removes everything it put there
    assert run(str(LINUX / "install.sh"), "--exec", str(exe), "--prefix", str(prefix)).returncode == 0
    out = run(str(LINUX / "uninstall.sh"), "--prefix", str(prefix))
    assert out.returncode == 0, out.stdout + out.stderr
    left = [p for p in prefix.rglob("*") if p.is_file() and APP_ID in p.read_bytes().decode("latin-1")]
    assert not left and not (prefix / "bin" / "ganstudio").exists() and not desktop.exists()
    assert not list(prefix.rglob(f"{APP_ID}*"))
    assert exe.exists()  # the application itself is not touched
