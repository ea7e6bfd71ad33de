"""Start-up recovery: offer autosaves left by a crashed session back.

A mixin of MainWindow (see ui/commands/__init__.py); the pixel work is core's."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox



class RecoveryCommands:
    def offer_recovery(self) -> int:
        """At start-up: offer the autosaves left by a crashed session. Returns how many were opened."""
        try:
            from ganstudio.core.autosave import discard, find_recoverable, recover
        except ImportError:
            return 0
        entries = find_recoverable()
        if not entries:
            return 0
        names = "\n".join(f"• {e.title}" for e in entries[:10])
        box = QMessageBox(QMessageBox.Icon.Question, "Recover unsaved work",
                          f"GAN Studio did not close properly. Recover these images?\n\n{names}",
                          parent=self)  # type: ignore[arg-type]
        recover_btn = box.addButton("Recover", QMessageBox.ButtonRole.AcceptRole)
        discard_btn = box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton("Later", QMessageBox.ButtonRole.RejectRole)
        box.exec()
        opened = 0
        if box.clickedButton() is recover_btn:
            for e in entries:
                try:
                    doc = recover(e)
                except Exception as exc:  # noqa: BLE001
                    self.show_error("Recover", f"{e.title}: {exc}")  # type: ignore[attr-defined]
                    continue
                # the recovery files stay until the document is saved or autosaved again
                self.add_document(doc, recovered=e)  # type: ignore[attr-defined]
                opened += 1
        elif box.clickedButton() is discard_btn:
            for e in entries:
                discard(e)
        return opened
