"""`ganstudio`, `ganstudio FILE...` and `ganstudio --sample` open the window (run_app)."""

from __future__ import annotations

import pytest

from ganstudio import cli


@pytest.mark.parametrize("argv", [[], ["--sample"], ["a.png", "b.ora"]])
def test_window_commands_route_to_run_app(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import ganstudio.ui.app as app

    seen: list[list[str]] = []
    monkeypatch.setattr(app, "run_app", lambda files: seen.append(list(files)) or 0)
    assert cli.main(argv) == 0
    assert seen == [argv]


def test_unknown_option_is_refused() -> None:
    from ganstudio.ui.app import run_app

    assert run_app(["--bogus"]) == 2
