"""ganstudio.paths is the one way to bundled data, in all three layouts (checkout, wheel, bundle)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ganstudio import paths

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "packaging" / "build_backend"))
import ganstudio_build  # noqa: E402 - the in-tree build backend (its file walker)

PROBE = ("import json, ganstudio.paths as p; "
         "print(json.dumps(dict(p.data_check(), root=str(p.ROOT), photo=str(p.SAMPLE_PHOTO))))")


def test_checkout_layout_finds_the_repository_data() -> None:
    assert paths.LAYOUT == "checkout"  # the test venv is an editable install of this checkout
    assert paths.RESOURCES == ROOT / "resources" and paths.MODELS_DIR == ROOT / "models"
    assert paths.SAMPLE_PHOTO.is_file() and (paths.RESOURCES / "theme" / "dark.qss").is_file()
    assert sorted(paths.CATALOG_DIR.glob("*.toml")) and sorted(paths.BUILTIN_MODELS.glob("*.safetensors"))
    assert paths.resource("icons", "ganstudio.svg").is_file()
    assert paths.model_file("catalog", "builtin.toml").is_file()


def test_no_module_but_paths_builds_data_paths_from_its_own_location() -> None:
    """`__file__`-relative paths break in a wheel (no resources/ beside site-packages) and a bundle."""
    offenders = []
    for py in sorted((ROOT / "ganstudio").rglob("*.py")):
        if py == ROOT / "ganstudio" / "paths.py":
            continue
        text = py.read_text(encoding="utf-8")
        for n, line in enumerate(text.splitlines(), 1):
            code = line.split("#", 1)[0]
            if re.search(r"\b__file__\b|_MEIPASS|\bPath\.cwd\(\)\s*/\s*['\"](resources|models)", code):
                offenders.append(f"{py.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not offenders, ("find data through ganstudio.paths (paths.RESOURCES, paths.resource(...), "
                           "paths.MODELS_DIR, ...):\n" + "\n".join(offenders))


def test_backend_walks_the_data_folders_and_skips_junk(tmp_path: Path) -> None:
    for rel in ("resources/palettes/warm.json", "resources/icons/hicolor/48x48/apps/x.png",
                "models/catalog/new_family.toml", "models/builtin/new.safetensors",
                "models/builtin/__pycache__/x.pyc", "models/builtin/dl.safetensors.part",
                "resources/.hidden", "resources/.git/config"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    assert ganstudio_build.data_files(tmp_path) == [
        "models/builtin/new.safetensors", "models/catalog/new_family.toml",
        "resources/icons/hicolor/48x48/apps/x.png", "resources/palettes/warm.json"]
    # and on this checkout: everything that ganstudio.paths can see is shipped
    shipped = set(ganstudio_build.data_files(ROOT))
    for f in [*paths.CATALOG_DIR.glob("*.toml"), *paths.BUILTIN_MODELS.rglob("*.safetensors"),
              *paths.BUILTIN_MODELS.glob("*.md"), *paths.SAMPLES.iterdir(), *paths.ICONS.glob("*.svg"),
              *paths.RESOURCES.glob("theme/*"), *paths.PALETTES.glob("*.json")]:
        assert f.relative_to(ROOT).as_posix() in shipped


def _fake_install(dest: Path) -> Path:
    """ganstudio's modules plus ganstudio/_data laid out as build_py lays them out."""
    shutil.copytree(ROOT / "ganstudio", dest / "ganstudio", ignore=shutil.ignore_patterns("__pycache__"))
    for rel in ganstudio_build.data_files(ROOT):
        target = dest / "ganstudio" / "_data" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / rel, target)
    return dest


def _probe(cwd: Path, env: dict[str, str], code: str = PROBE) -> dict:
    out = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_wheel_layout_is_found_through_importlib_resources(tmp_path: Path) -> None:
    site = _fake_install(tmp_path / "site")
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    env = dict(os.environ, PYTHONPATH=str(site))
    got = _probe(elsewhere, env)
    assert got["layout"] == "wheel"
    assert Path(got["root"]) == site / "ganstudio" / "_data"
    assert got["catalog_files"] == len(list(paths.CATALOG_DIR.glob("*.toml"))) > 0
    assert got["builtin_weights"] == len(list(paths.BUILTIN_MODELS.glob("*.safetensors"))) > 0
    assert got["sample_photo"] and not got["photo"].startswith(str(ROOT) + os.sep)


def test_bundle_layout_is_found_through_meipass(tmp_path: Path) -> None:
    bundle = _fake_install(tmp_path / "bundle" / "_internal")
    env = dict(os.environ, PYTHONPATH=str(bundle))
    code = f"import sys; sys._MEIPASS = {str(bundle)!r}; " + PROBE
    got = _probe(tmp_path, env, code)
    assert got["layout"] == "bundle" and Path(got["root"]) == bundle / "ganstudio" / "_data"
    assert got["catalog_files"] > 0 and got["builtin_weights"] > 0 and got["sample_photo"]


@pytest.mark.parametrize("name", ["user_cache_dir", "user_data_dir"])
def test_user_folders_never_point_into_the_bundled_data(name: str, monkeypatch) -> None:
    monkeypatch.delenv("GANSTUDIO_CACHE", raising=False)
    monkeypatch.delenv("GANSTUDIO_DATA", raising=False)
    d = getattr(paths, name)()
    assert paths.RESOURCES not in d.parents and paths.MODELS_DIR not in d.parents and d != paths.ROOT
