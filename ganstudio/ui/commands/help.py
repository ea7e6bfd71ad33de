"""Help menu: keyboard shortcuts (About is the window's).

A mixin of MainWindow (see ui/commands/__init__.py); the pixel work is core's."""

from __future__ import annotations





class HelpCommands:
    def shortcuts_dialog(self) -> None:
        from ..dialogs.shortcuts_dialog import ShortcutsDialog

        ShortcutsDialog(list(self.qactions.values()), self).exec()  # type: ignore[arg-type]
