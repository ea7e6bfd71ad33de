"""`python -m build` gives an sdist and a wheel that carry everything the app reads at run time.

Built offline (--no-isolation: this venv's setuptools) from a copy of the tree, so the checkout is
left alone; the wheel is built from the sdist, as pip does for an sdist. The full install-and-run
smoke (fresh venv, torch, every offline task, Xvfb window) is packaging/smoke_wheel.sh, run by .ci/run.
"""

from __future__ import annotations

import email.parser
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "packaging" / "build_backend"))
import ganstudio_build  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("src")
    junk = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", "dist")
    for d in ("ganstudio", "resources", "models", "packaging"):
        shutil.copytree(ROOT / d, src / d, ignore=junk)
    for f in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / f, src / f)
    out = src / "dist"
    proc = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "-o", str(out), str(src)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out


def _src(dist: Path) -> Path:
    """The copy the distributions were built from (the shared checkout changes under our feet)."""
    return dist.parent


def _wheel(dist: Path) -> zipfile.ZipFile:
    (whl,) = dist.glob("ganstudio-*-py3-none-any.whl")
    return zipfile.ZipFile(whl)


def test_wheel_carries_catalog_builtin_weights_and_resources(dist: Path) -> None:
    names = set(_wheel(dist).namelist())
    data = ganstudio_build.data_files(_src(dist))
    assert len(data) >= len(ganstudio_build.data_files(ROOT)) - 5  # the copy is the checkout
    assert any(d.startswith("models/catalog/") and d.endswith(".toml") for d in data)
    assert any(d.startswith("models/builtin/") and d.endswith(".safetensors") for d in data)
    missing = [d for d in data if f"ganstudio/_data/{d}" not in names]
    assert not missing, f"not in the wheel: {missing[:20]}"
    for must in ("ganstudio/_data/resources/samples/astronaut.png", "ganstudio/_data/resources/theme/dark.qss",
                 "ganstudio/_data/resources/icons/ganstudio.svg", "ganstudio/_data/models/catalog/builtin.toml"):
        assert must in names
    # every module ships; nothing of the checkout's tooling does
    mods = {p.relative_to(_src(dist)).as_posix() for p in (_src(dist) / "ganstudio").rglob("*.py")}
    assert mods <= names, sorted(mods - names)[:20]
    assert not [n for n in names if n.startswith(("tests/", "packaging/", "resources/", "models/"))]
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_wheel_metadata_declares_the_project_dependencies(dist: Path) -> None:
    whl = _wheel(dist)
    (meta_name,) = [n for n in whl.namelist() if n.endswith(".dist-info/METADATA")]
    meta = email.parser.Parser().parsestr(whl.read(meta_name).decode())
    requires = [r for r in meta.get_all("Requires-Dist") if "extra ==" not in r]
    declared = tomllib.loads((_src(dist) / "pyproject.toml").read_text())["project"]["dependencies"]
    from packaging.requirements import Requirement

    norm = lambda r: (Requirement(r).name.lower(), str(Requirement(r).specifier))  # noqa: E731
    assert sorted(map(norm, requires)) == sorted(map(norm, declared))
    assert any(r.startswith("tqdm") for r in requires)
    (ep,) = [n for n in whl.namelist() if n.endswith(".dist-info/entry_points.txt")]
    assert "ganstudio = ganstudio.cli:entry" in whl.read(ep).decode()


def test_sdist_carries_the_data_and_the_build_backend(dist: Path) -> None:
    (sdist,) = dist.glob("ganstudio-*.tar.gz")
    with tarfile.open(sdist) as tf:
        names = {n.split("/", 1)[1] for n in tf.getnames() if "/" in n}
    for d in ganstudio_build.data_files(_src(dist)):
        assert d in names, d
    assert "packaging/build_backend/ganstudio_build.py" in names and "pyproject.toml" in names


def test_unpacked_wheel_runs_from_outside_the_checkout(dist: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    _wheel(dist).extractall(site)
    env = dict(os.environ, PYTHONPATH=str(site), GANSTUDIO_CACHE=str(tmp_path / "cache"))
    env.pop("GANSTUDIO_DATA", None)
    run = lambda *a: subprocess.run([sys.executable, "-m", "ganstudio", *a], cwd=tmp_path, env=env,  # noqa: E731
                                    capture_output=True, text=True, timeout=120)
    info = run("info", "--json")
    assert info.returncode == 0, info.stderr[-2000:]
    text = info.stdout
    assert str(site / "ganstudio" / "_data") in text and str(ROOT / "models") not in text
    listed = run("models", "list", "--json")
    assert listed.returncode == 0, listed.stderr[-2000:]
    rows = json.loads(listed.stdout)["models"]
    assert len(rows) >= 3
    assert any(r["id"] == "builtin.inpaint-compact" for r in rows)
