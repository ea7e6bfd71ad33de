"""CI runs exactly the README's test command, then the install smoke (issue 14), in that order."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _readme_test_command() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)\n```", text, flags=re.S)
    (cmd,) = [b.strip() for b in blocks if "setup.sh --test" in b]
    return cmd


def _ci_lines() -> list[str]:
    return [ln.strip() for ln in (ROOT / ".ci" / "run").read_text().splitlines()
            if ln.strip() and not ln.lstrip().startswith("#")]


def test_ci_runs_the_readme_test_command_then_the_install_smoke() -> None:
    lines = _ci_lines()
    readme = _readme_test_command()
    assert readme in lines, f"{readme!r} not a line of .ci/run"
    smoke = "bash packaging/ci_install_smoke.sh"
    assert smoke in lines
    assert lines.index(readme) < lines.index(smoke), "the install smoke runs after the tests"


def test_packaging_scripts_parse() -> None:
    for name in ("ci_install_smoke.sh", "smoke_wheel.sh", "smoke_bundle.sh", "smoke_set.sh", "build.sh",
                 "setup.sh", "linux/install.sh", "linux/uninstall.sh"):
        r = subprocess.run(["bash", "-n", str(ROOT / "packaging" / name)], capture_output=True, text=True)
        assert r.returncode == 0, f"{name}: {r.stderr}"


def test_smoke_set_runs_every_offline_task() -> None:
    s = (ROOT / "packaging" / "smoke_set.sh").read_text()
    for run in ("upscale", "inpaint", "colorize", "stylize", "scene", "face detect", "--sample",
                "GANSTUDIO_SCREENSHOT", "no-checkout-reads"):
        assert run in s, run
