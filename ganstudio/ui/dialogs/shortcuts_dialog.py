"""Help > Keyboard shortcuts: every action of the window with its shortcut, editable (as Krita's /
GIMP's keyboard shortcut editors).

Click a shortcut cell and press the new keys (Backspace/Delete in an empty editor, or the clear
button, removes it). A key already used by another action is shown in red on both rows with the
names in the message line; OK is refused while a shortcut you changed conflicts. "Reset" puts the
selected action back to its default, "Take over" keeps its keys and removes them from the actions
it clashes with, "Reset all" puts every action back. OK applies the shortcuts and saves
the ones that differ from the defaults in the settings (``[shortcuts]`` of ganstudio.ini, by the
action's object name); :func:`apply_saved` applies them when the window starts. Actions without
an object name cannot be saved and are listed read-only. Mouse gestures are listed at the end.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QBrush, QColor, QKeySequence
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QHBoxLayout, QHeaderView, QKeySequenceEdit,
                               QLabel, QLineEdit, QPushButton, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

EXTRA = [("Pan", "Space + drag, middle button"), ("Zoom at cursor", "Mouse wheel / Ctrl + wheel"),
         ("Scroll horizontally", "Shift + wheel"), ("Add to selection", "Shift + drag / click"),
         ("Subtract from selection", "Alt + drag / click"), ("Erase the AI mask", "Alt + mask brush"),
         ("Straight line (brush, eraser, mask, label, clone, heal)", "Shift + click"),
         ("Set the clone / heal source", "Ctrl + click or Alt + click"),
         ("Gradient angle in 15° steps", "Ctrl + drag"),
         ("Cancel the current tool drag", "Esc")]

GROUP = "shortcuts"
DEFAULT_PROP = "ganstudio_default_shortcuts"
PORTABLE = QKeySequence.SequenceFormat.PortableText
NATIVE = QKeySequence.SequenceFormat.NativeText


def _text(action: QAction) -> str:
    return action.text().replace("&&", "\x00").replace("&", "").replace("\x00", "&").rstrip("…").strip()


def _keys(seqs: Iterable[QKeySequence]) -> list[str]:
    return [s.toString(PORTABLE) for s in seqs if not s.isEmpty()]


def record_defaults(actions: Iterable[QAction]) -> None:
    """Remember each action's current shortcuts as its default (once)."""
    for a in actions:
        if a.property(DEFAULT_PROP) is None:
            a.setProperty(DEFAULT_PROP, "\n".join(_keys(a.shortcuts())))


def default_keys(action: QAction) -> list[str]:
    v = action.property(DEFAULT_PROP)
    if v is None:
        return _keys(action.shortcuts())
    return [k for k in str(v).split("\n") if k]


def window_actions(window: Any, extra: Iterable[QAction] = ()) -> list[QAction]:
    """Every distinct action of ``window`` with a text: its ``qactions``, task UI actions and
    other QActions found among its children (menus), plus ``extra``."""
    seen: dict[int, QAction] = {}
    pool = list(extra)
    pool += list(getattr(window, "qactions", {}).values())
    if hasattr(window, "findChildren"):
        pool += window.findChildren(QAction)
    for a in pool:
        if not isinstance(a, QAction) or a.isSeparator() or a.menu() is not None:
            continue
        if not _text(a) or id(a) in seen:
            continue
        seen[id(a)] = a
    return list(seen.values())


def set_keys(action: QAction, keys: list[str]) -> None:
    """Give ``action`` these shortcuts; a tooltip naming the old key ("Brush (B): ...") follows."""
    old = action.shortcut().toString(NATIVE)
    action.setShortcuts([QKeySequence(k) for k in keys])
    new = action.shortcut().toString(NATIVE)
    tip = action.toolTip()
    if old and f"({old})" in tip:
        action.setToolTip(tip.replace(f" ({old})", f" ({new})" if new else "", 1))


def _settings():  # noqa: ANN202
    from ..settings import settings

    return settings()


def saved_shortcuts() -> dict[str, list[str]]:
    s = _settings()
    s.beginGroup(GROUP)
    out = {}
    for key in s.childKeys():
        v = s.value(key, "")
        if isinstance(v, (list, tuple)):
            v = "\n".join(str(x) for x in v)
        out[key] = [k for k in str(v or "").split("\n") if k]
    s.endGroup()
    return out


def save_shortcuts(actions: Iterable[QAction]) -> None:
    """Store every named action whose shortcuts differ from its default; forget the others."""
    s = _settings()
    s.beginGroup(GROUP)
    for a in actions:
        name = a.objectName()
        if not name:
            continue
        cur = _keys(a.shortcuts())
        if cur != default_keys(a):
            s.setValue(name, "\n".join(cur) if cur else "")
        else:
            s.remove(name)
    s.endGroup()
    s.sync()


def apply_saved(window: Any) -> int:
    """At start-up: record the defaults of the window's actions, then apply the saved shortcuts.
    Returns how many actions changed."""
    actions = window_actions(window)
    record_defaults(actions)
    saved = saved_shortcuts()
    n = 0
    for a in actions:
        keys = saved.get(a.objectName())
        if a.objectName() and keys is not None:
            set_keys(a, keys)
            n += 1
    return n


def conflicts(assigned: dict[int, list[str]]) -> dict[str, list[int]]:
    """key sequence -> the rows that use it, for sequences used by more than one row."""
    users: dict[str, list[int]] = {}
    for row, keys in assigned.items():
        for k in keys:
            norm = QKeySequence(k).toString(PORTABLE)
            if row not in users.setdefault(norm, []):
                users[norm].append(row)
    return {k: rows for k, rows in users.items() if len(rows) > 1}


class ShortcutsDialog(QDialog):
    def __init__(self, actions: list[QAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(640, 620)
        acts = window_actions(parent, actions) if parent is not None else window_actions(None, actions)
        record_defaults(acts)
        acts.sort(key=lambda a: _text(a).lower())
        self.actions_list = acts
        #: row -> the keys being edited (primary first); applied on OK
        self.keys: dict[int, list[str]] = {i: _keys(a.shortcuts()) for i, a in enumerate(acts)}
        self._start = {i: list(k) for i, k in self.keys.items()}
        n = len(acts)
        table = QTableWidget(n + len(EXTRA), 3)
        table.setObjectName("shortcuts_table")
        table.setHorizontalHeaderLabels(["Action", "Shortcut", "Default"])
        table.verticalHeader().hide()
        table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Fixed)
        table.setColumnWidth(1, 190)
        table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.editors: dict[int, QKeySequenceEdit] = {}
        for i, a in enumerate(acts):
            item = QTableWidgetItem(_text(a))
            item.setToolTip(a.toolTip() or a.statusTip())
            table.setItem(i, 0, item)
            table.setItem(i, 2, QTableWidgetItem(self._native(default_keys(a))))
            if a.objectName():
                ed = QKeySequenceEdit(QKeySequence(self.keys[i][0]) if self.keys[i] else QKeySequence())
                ed.setObjectName(f"shortcut_{a.objectName()}")
                ed.setClearButtonEnabled(True)
                ed.setMaximumSequenceLength(1)
                ed.setToolTip("Click and press the new shortcut" + (
                    f" (also: {self._native(self.keys[i][1:])})" if len(self.keys[i]) > 1 else ""))
                ed.keySequenceChanged.connect(lambda seq, row=i: self._edited(row, seq))
                table.setCellWidget(i, 1, ed)
                self.editors[i] = ed
            else:
                table.setItem(i, 1, QTableWidgetItem(self._native(self.keys[i])))
        for j, (name, keys) in enumerate(EXTRA):
            table.setItem(n + j, 0, QTableWidgetItem(name))
            table.setItem(n + j, 1, QTableWidgetItem(keys))
            table.setItem(n + j, 2, QTableWidgetItem(keys))
        self.table = table

        self.search = QLineEdit()
        self.search.setObjectName("shortcuts_search")
        self.search.setPlaceholderText("Search actions or keys…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._filter)
        self.message = QLabel()
        self.message.setObjectName("shortcuts_message")
        self.message.setWordWrap(True)
        self.reset_button = QPushButton("Reset")
        self.reset_button.setObjectName("shortcuts_reset")
        self.reset_button.setToolTip("Put the selected action's shortcut back to its default")
        self.reset_button.clicked.connect(self.reset_selected)
        self.take_button = QPushButton("Take over")
        self.take_button.setObjectName("shortcuts_take_over")
        self.take_button.setToolTip("Keep the selected action's shortcut and remove it from the "
                                    "actions it clashes with")
        self.take_button.clicked.connect(self.take_over_selected)
        self.reset_all_button = QPushButton("Reset all")
        self.reset_all_button.setObjectName("shortcuts_reset_all")
        self.reset_all_button.setToolTip("Every action back to its default shortcut")
        self.reset_all_button.clicked.connect(self.reset_all)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.search)
        layout.addWidget(table, 1)
        layout.addWidget(self.message)
        row = QHBoxLayout()
        row.addWidget(self.reset_button)
        row.addWidget(self.take_button)
        row.addWidget(self.reset_all_button)
        row.addStretch(1)
        row.addWidget(self.buttons)
        layout.addLayout(row)
        self._check()

    # -- helpers ---------------------------------------------------------------------------------
    @staticmethod
    def _native(keys: list[str]) -> str:
        return ", ".join(QKeySequence(k).toString(NATIVE) for k in keys)

    def row_of(self, name: str) -> int:
        return next(i for i, a in enumerate(self.actions_list) if a.objectName() == name)

    def editor(self, name: str) -> QKeySequenceEdit:
        return self.editors[self.row_of(name)]

    def _edited(self, row: int, seq: QKeySequence) -> None:
        primary = seq.toString(PORTABLE)
        rest = self.keys[row][1:]
        self.keys[row] = ([primary] if primary else []) + [k for k in rest if k != primary]
        self._check()

    def set_keys(self, name: str, keys: list[str]) -> None:
        """Set an action's shortcuts in the dialog (the editor shows the first)."""
        row = self.row_of(name)
        ed = self.editors[row]
        ed.blockSignals(True)
        ed.setKeySequence(QKeySequence(keys[0]) if keys else QKeySequence())
        ed.blockSignals(False)
        self.keys[row] = [QKeySequence(k).toString(PORTABLE) for k in keys]
        self._check()

    def reset_selected(self) -> None:
        rows = {i.row() for i in self.table.selectedIndexes()}
        for r in rows:
            if r < len(self.actions_list) and self.actions_list[r].objectName():
                self.set_keys(self.actions_list[r].objectName(), default_keys(self.actions_list[r]))

    def take_over_selected(self) -> None:
        """The selected action keeps its keys; every other action loses those keys."""
        rows = {i.row() for i in self.table.selectedIndexes() if i.row() < len(self.actions_list)}
        for r in rows:
            mine = {QKeySequence(k).toString(PORTABLE) for k in self.keys[r]}
            for other, keys in list(self.keys.items()):
                if other != r and mine & set(keys) and self.actions_list[other].objectName():
                    self.set_keys(self.actions_list[other].objectName(),
                                  [k for k in keys if k not in mine])

    def reset_all(self) -> None:
        for r, a in enumerate(self.actions_list):
            if a.objectName():
                self.set_keys(a.objectName(), default_keys(a))

    # -- conflicts -------------------------------------------------------------------------------
    def conflicts(self) -> dict[str, list[str]]:
        """key -> names of the actions that share it (as the dialog stands)."""
        return {k: [_text(self.actions_list[r]) for r in rows]
                for k, rows in conflicts(self.keys).items()}

    def blocking_conflicts(self) -> dict[str, list[str]]:
        """Conflicts that involve a shortcut changed in this dialog."""
        changed = {r for r in self.keys if self.keys[r] != self._start[r]}
        return {k: [_text(self.actions_list[r]) for r in rows]
                for k, rows in conflicts(self.keys).items() if set(rows) & changed}

    def _check(self) -> None:
        found = conflicts(self.keys)
        bad = {r for rows in found.values() for r in rows}
        red = QBrush(QColor(235, 90, 90))
        normal = self.table.palette().text()
        for r in range(len(self.actions_list)):
            item = self.table.item(r, 0)
            item.setForeground(red if r in bad else normal)
            ed = self.editors.get(r)
            if ed is not None:
                ed.setStyleSheet("QLineEdit { color: #eb5a5a; }" if r in bad else "")
        blocking = self.blocking_conflicts()
        lines = [f"{QKeySequence(k).toString(NATIVE)} is used by "
                 + " and ".join(f"“{n}”" for n in names) for k, names in sorted(self.conflicts().items())]
        self.message.setText("; ".join(lines) if lines else "")
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not blocking)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setToolTip(
            "Give each shortcut you changed to one action only first" if blocking else "")

    def _filter(self, text: str) -> None:
        t = text.strip().lower()
        n = len(self.actions_list)
        for r in range(self.table.rowCount()):
            name = self.table.item(r, 0).text().lower()
            keys = (self._native(self.keys[r]) if r < n else self.table.item(r, 1).text()).lower()
            self.table.setRowHidden(r, bool(t) and t not in name and t not in keys)

    # -- apply -----------------------------------------------------------------------------------
    def apply(self) -> None:
        for r, a in enumerate(self.actions_list):
            if a.objectName() and _keys(a.shortcuts()) != self.keys[r]:
                set_keys(a, self.keys[r])
        save_shortcuts(self.actions_list)

    def accept(self) -> None:
        if self.blocking_conflicts():
            return
        self.apply()
        super().accept()


__all__ = ["ShortcutsDialog", "apply_saved", "record_defaults", "save_shortcuts", "saved_shortcuts",
           "window_actions", "default_keys", "conflicts"]
