"""In-tree PEP 517 backend: setuptools, plus the repository's data as package data.

The repository keeps ``resources/`` and ``models/`` at its top level (the product layout); the
installed package finds them at ``ganstudio/_data/{resources,models}`` (ganstudio/paths.py). This
module is setuptools.build_meta with two commands swapped in through pyproject.toml
``[tool.setuptools.cmdclass]``:

* ``build_py`` copies every file under resources/ and models/ (by walking the folders: new catalog
  files, built-in weights and palettes are picked up with nothing to list) into the build tree;
* ``sdist`` adds the same folders and this backend to the source archive, so a wheel built from the
  sdist is identical.

Editable installs copy nothing: ganstudio.paths then reads the checkout directly.
"""

from __future__ import annotations

import os
from pathlib import Path

from setuptools import build_meta as _orig
from setuptools.build_meta import *  # noqa: F401,F403 - the PEP 517 hooks
from setuptools.command.build_py import build_py as _build_py
from setuptools.command.sdist import sdist as _sdist

DATA_DIRS = ("resources", "models")  # repository folder -> ganstudio/_data/<folder>
TARGET = ("ganstudio", "_data")
_SKIP_DIRS = {"__pycache__", ".git", ".ipynb_checkpoints"}
_SKIP_SUFFIXES = (".pyc", ".part", ".tmp", "~")


def data_files(root: str | os.PathLike = ".") -> list[str]:
    """Every shipped data file, as paths relative to ``root`` ('/'-separated), sorted."""
    root = Path(root)
    out = []
    for top in DATA_DIRS:
        for dirpath, dirnames, filenames in os.walk(root / top):
            dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
            for f in filenames:
                if f.startswith(".") or f.endswith(_SKIP_SUFFIXES):
                    continue
                out.append((Path(dirpath) / f).relative_to(root).as_posix())
    return sorted(out)


class build_py(_build_py):  # noqa: N801 - setuptools command naming
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return  # the checkout is read in place
        for rel in data_files():
            dest = os.path.join(self.build_lib, *TARGET, *rel.split("/"))
            self.mkpath(os.path.dirname(dest))
            self.copy_file(rel, dest, preserve_mode=False)

    def get_outputs(self, include_bytecode=True):
        outs = list(super().get_outputs(include_bytecode))
        if not getattr(self, "editable_mode", False):
            outs += [os.path.join(self.build_lib, *TARGET, *rel.split("/")) for rel in data_files()]
        return outs


class sdist(_sdist):  # noqa: N801
    # setuptools fills self.filelist from egg_info's manifest (add_defaults of this class is not
    # called), so the extra files join just before the archive is written.
    def make_distribution(self):
        self.filelist.extend(data_files())
        here = Path(__file__).resolve()
        self.filelist.append(here.relative_to(Path.cwd().resolve()).as_posix())
        self.filelist.sort()
        self.filelist.remove_duplicates()
        super().make_distribution()


__all__ = list(getattr(_orig, "__all__", [])) + ["build_py", "sdist", "data_files"]
