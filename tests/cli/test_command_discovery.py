"""Commands are discovered (no list to edit) and raise CliError from commands/errors.py."""

from __future__ import annotations

import json
import sys
import types

from ganstudio import cli
from ganstudio.commands import command_modules
from ganstudio.commands.errors import CliError


def test_every_command_module_is_registered() -> None:
    names = command_modules()
    assert {"info", "convert", "models", "upscale", "inpaint", "train"} <= set(names)
    assert "errors" not in names
    parser = cli.build_parser()
    choices = set(parser._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    assert {"info", "convert", "models", "upscale", "inpaint", "train"} <= choices
    assert cli.CliError is CliError                      # the old import path still works


def test_a_new_command_module_is_picked_up_and_its_errors_exit_2(monkeypatch, capsys) -> None:  # noqa: ANN001
    mod = types.ModuleType("ganstudio.commands.zz_probe")

    def register(sub) -> None:  # noqa: ANN001
        p = sub.add_parser("zz-probe")
        p.add_argument("--json", action="store_true")
        p.set_defaults(handler=lambda args: (_ for _ in ()).throw(CliError("no such thing")))

    mod.register = register
    monkeypatch.setitem(sys.modules, "ganstudio.commands.zz_probe", mod)
    monkeypatch.setattr(cli, "command_modules", lambda: [*command_modules(), "zz_probe"])
    assert cli.main(["zz-probe", "--json"]) == 2
    assert json.loads(capsys.readouterr().out) == {"ok": False, "error": "no such thing"}
    assert cli.main(["zz-probe"]) == 2
    assert "zz-probe: error: no such thing" in capsys.readouterr().err


def test_a_broken_command_does_not_take_the_cli_down(monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(cli, "command_modules", lambda: [*command_modules(), "zz_missing"])
    parser = cli.build_parser()
    assert "info" in parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]


def test_tasks_command_lists_the_registry(capsys) -> None:  # noqa: ANN001
    assert cli.main(["tasks", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    by_name = {t["name"]: t for t in out["tasks"]}
    assert by_name["super_resolution"]["cli"] == "ganstudio.commands.upscale"
    assert by_name["inpaint"]["ui"] == "ganstudio.ui.tasks.inpaint"
    assert "opencv_inpaint" in by_name
    assert cli.main(["tasks"]) == 0
    assert "super_resolution" in capsys.readouterr().out
