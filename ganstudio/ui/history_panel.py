"""History panel (View > Panels > History, as in Photoshop / Krita / GIMP's Undo History): the undo
stack of the active document as a list, oldest first. The first row is the state before every
listed step ("Open" or, when old steps were dropped to stay within the undo memory, "Oldest kept
state"); the current state is selected and bold; steps that would be redone are greyed. Clicking
a row undoes or redoes up to that state (``core.history.History.go_to``); a new edit after an
undo drops the greyed rows, as Ctrl+Z / Ctrl+Shift+Z do."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from .signals import Connections


class HistoryPanel(QWidget):
    def __init__(self, window: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("history_panel")
        self.window = window
        self.document: Any = None
        self._conns = Connections()
        self._jumping = False
        # rebuilt at most once per event-loop turn, and only while shown (an apply pushes several
        # history steps; rebuilding the list for each cost the GUI thread ms: bench_ui "apply")
        self._stale = True
        self._scheduled = False
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 4)
        self.list = QListWidget()
        self.list.setObjectName("history_list")
        self.list.setToolTip("Click a step to go back (or forward) to the image as it was then")
        self.list.setMinimumHeight(80)
        self.list.itemClicked.connect(self._clicked)
        self.list.itemActivated.connect(self._clicked)
        self.hint = QLabel("No image open")
        self.hint.setObjectName("emptyHint")
        lay.addWidget(self.list, 1)
        lay.addWidget(self.hint)
        if window is not None:
            window.document_changed.connect(self.set_document)
            self.set_document(window.document)

    # -- document --------------------------------------------------------------------------------
    def set_document(self, doc: Any) -> None:
        if doc is self.document:
            return
        self._conns.disconnect_all()
        self.document = doc
        if doc is not None:
            self._conns.connect(doc.history.events.changed, self._changed)
        self.rebuild()

    def _changed(self, *_: Any) -> None:
        self._stale = True
        if self.isVisible() and not self._scheduled:
            self._scheduled = True
            QTimer.singleShot(0, self._flush)

    def _flush(self) -> None:
        self._scheduled = False
        if self._stale and self.isVisible():
            self.rebuild()

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt
        super().showEvent(event)
        if self._stale:
            self.rebuild()

    # -- rows ------------------------------------------------------------------------------------
    def rebuild(self, *_: Any) -> None:
        if self._jumping:
            return
        self._stale = False
        self.list.blockSignals(True)
        self.list.clear()
        doc = self.document
        if doc is None:
            self.hint.setText("No image open")
            self.hint.show()
            self.list.blockSignals(False)
            return
        hist = doc.history
        done, undone = hist.undo_labels, hist.redo_labels
        first = "Oldest kept state" if getattr(hist, "truncated", False) else "Open"
        rows = [first] + done + undone
        current = len(done)
        grey = QBrush(QColor(130, 134, 142))
        for i, text in enumerate(rows):
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, i)
            if i > current:
                item.setForeground(grey)
                f = item.font()
                f.setItalic(True)
                item.setFont(f)
            elif i == current:
                f = QFont(item.font())
                f.setBold(True)
                item.setFont(f)
            self.list.addItem(item)
        self.list.setCurrentRow(current)
        self.list.scrollToItem(self.list.item(current))
        self.hint.setText(f"{len(done)} step{'s' if len(done) != 1 else ''}"
                          + (f", {len(undone)} to redo" if undone else ""))
        self.hint.show()
        self.list.blockSignals(False)

    def current_row(self) -> int:
        if self._stale:
            self.rebuild()
        return self.list.currentRow()

    def rows(self) -> list[str]:
        if self._stale:
            self.rebuild()
        return [self.list.item(i).text() for i in range(self.list.count())]

    def _clicked(self, item: QListWidgetItem) -> None:
        self.go_to(int(item.data(Qt.ItemDataRole.UserRole)))

    def go_to(self, index: int) -> None:
        """Undo / redo to the state after ``index`` steps (row ``index``)."""
        doc = self.document
        if doc is None:
            return
        self._jumping = True
        try:
            ok = doc.history.go_to(index)
        finally:
            self._jumping = False
        if not ok and self.window is not None:
            self.window.status_message("Finish the current stroke first")
        self.rebuild()


def install(window: Any) -> HistoryPanel:
    """Add the History dock (View > Panels > History) to ``window``; it follows the active
    document."""
    panel = HistoryPanel(window)
    dock = window.add_dock(panel, "History", "right", name="history")
    dock.hide()
    window.history_panel = panel
    return panel


__all__ = ["HistoryPanel", "install"]
