"""Start-up recovery: offer autosaves left by a crashed session back.

A mixin of MainWindow (see ui/commands/__init__.py); the pixel work is core's."""

from __future__ import annotations

import os

from PySide6.QtWidgets import QMessageBox


class RecoveryCommands:
    def offer_recovery(self) -> int:
        """At start-up: offer the autosaves left by a crashed session. Returns how many were opened.

        ``GANSTUDIO_RECOVERY=recover|discard|later`` answers without the dialog (scripted starts).
        A recovered document adopts its recovery files (they stay until it is saved or autosaved
        again) and is autosaved at once."""
        try:
            from ganstudio.core.autosave import discard, find_recoverable, recover
        except ImportError:
            return 0
        entries = find_recoverable()
        if not entries:
            return 0
        answer = os.environ.get("GANSTUDIO_RECOVERY", "").strip().lower()
        if answer not in ("recover", "discard", "later"):
            names = "\n".join(f"• {e.title}" for e in entries[:10])
            box = QMessageBox(QMessageBox.Icon.Question, "Recover unsaved work",
                              f"GAN Studio did not close properly. Recover these images?\n\n{names}",
                              parent=self)  # type: ignore[arg-type]
            recover_btn = box.addButton("Recover", QMessageBox.ButtonRole.AcceptRole)
            discard_btn = box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
            box.addButton("Later", QMessageBox.ButtonRole.RejectRole)
            box.exec()
            answer = ("recover" if box.clickedButton() is recover_btn else
                      "discard" if box.clickedButton() is discard_btn else "later")
        opened = 0
        if answer == "recover":
            for e in entries:
                try:
                    doc = recover(e)
                except Exception as exc:  # noqa: BLE001
                    self.show_error("Recover", f"{e.title}: {exc}")  # type: ignore[attr-defined]
                    continue
                # the recovery files stay until the document is saved or autosaved again
                self.add_document(doc, recovered=e)  # type: ignore[attr-defined]
                opened += 1
        elif answer == "discard":
            for e in entries:
                discard(e)
        if os.environ.get("GANSTUDIO_RECOVERY"):
            print(f"recovery {answer} {opened}", flush=True)   # scripted starts (tests) wait for it
        return opened
