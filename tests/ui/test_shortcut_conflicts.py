"""No two of the window's actions share a keyboard shortcut: Qt fires neither of them on an
ambiguous key (it only logs "Ambiguous shortcut overload"), so a conflict silently kills both."""

from __future__ import annotations

from collections import defaultdict

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction


def test_every_shortcut_belongs_to_one_action(window) -> None:  # noqa: ANN001
    owners: dict[str, list[str]] = defaultdict(list)
    for action in window.findChildren(QAction):
        if action.shortcutContext() == Qt.ShortcutContext.WidgetShortcut:
            continue          # only active while its own widget has the focus
        for seq in action.shortcuts():
            key = seq.toString()
            if key:
                owners[key].append(action.objectName() or action.text())
    conflicts = {k: v for k, v in owners.items() if len(v) > 1}
    assert len(owners) > 30                      # the window's shortcuts were found
    assert not conflicts, f"shortcuts used by several actions: {conflicts}"
