"""The GAN Studio main window: documents in tabs over the canvas, docks (tool options, layers,
jobs), menus / tool bars (actions.py), status bar, and the window API used by task UIs
(docs/UI.md; the Protocol is ui/window_api.py): ``document``, ``menu(path)``, ``run_job(job)``,
``placement(rect)``, ``task_mask()``, ``preferences``, ``show_error``, ``status_message``,
``add_dock``, ``show_preview``; the task platform side lives in task_host.py."""

from __future__ import annotations

import contextlib
import logging
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QByteArray, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (QComboBox, QDockWidget, QFrame, QLabel, QMainWindow, QMenu, QMessageBox,
                               QScrollArea, QTabWidget, QVBoxLayout, QWidget)

from ganstudio import __version__
from ganstudio.core.document import Document
from ganstudio.jobs import Job, JobQueue

from . import actions as actions_mod
from .canvas import Canvas
from .job_bridge import JobBridge
from .jobs_panel import JobsPanel
from .layers_panel import LayersPanel
from .preferences import Preferences
from .settings import settings
from .signals import Connections
from .status_bar import StatusBar
from .theme import app_icon
from .tool_options import ToolOptions
from .tools import ToolManager
from .task_host import TaskHost
from .commands import WindowCommands

log = logging.getLogger(__name__)


#: the docks of the window itself; every other dock is a task panel (one tab group)
STANDARD_DOCKS = ("tool_options", "layers", "jobs")
#: a panel never forces the dock column wider than this (the rest scrolls)
DOCK_MAX_MIN_WIDTH = 380


def scroll_wrap(widget: QWidget) -> QScrollArea:
    """``widget`` in a frameless scroll area that resizes it to the dock's width: a panel taller
    than its dock scrolls instead of overflowing (or growing the window)."""
    area = QScrollArea()
    area.setObjectName(f"scroll_{widget.objectName() or type(widget).__name__}")
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
    # long item texts (model names) must not widen the whole column: combos elide instead
    for combo in widget.findChildren(QComboBox):
        if combo.sizeAdjustPolicy() != QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon:
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(max(combo.minimumContentsLength(), 12))
    area.setWidget(widget)
    # as wide as the panel needs (no sideways scrolling), up to a sane column width
    bar = area.verticalScrollBar().sizeHint().width()
    area.setMinimumWidth(min(widget.minimumSizeHint().width() + bar + 2, DOCK_MAX_MIN_WIDTH))
    return area


@dataclass
class DocState:
    doc: Document
    canvas: Canvas
    autosaver: Any = None
    export_path: Path | None = None
    subscriptions: Connections | None = None
    discarded: bool = False          # the user chose "Discard": its recovery files may go


class MainWindow(TaskHost, WindowCommands, QMainWindow):
    document_changed = Signal(object)  # the active Document or None

    def __init__(self, *, check_recovery: bool = False, load_task_uis: bool = True) -> None:
        super().__init__()
        self.setWindowTitle("GAN Studio")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks
                            | QMainWindow.DockOption.AllowTabbedDocks)
        self.ask_before_close = True   # tests turn the unsaved-changes prompt off
        self.last_error: tuple[str, str] | None = None
        self.preferences = Preferences.load()
        self.preferences.apply_environment()
        self.qactions: dict[str, Any] = {}
        self.menus: dict[str, QMenu] = {}
        self.docks: dict[str, QDockWidget] = {}
        self.recent_menu: QMenu | None = None
        self.panels_menu: QMenu | None = None
        self._docs: list[DocState] = []
        self._actions_batch = 0        # > 0: action updates wait for the end of the batch
        self._actions_pending = False
        self.device_in_use = "auto"

        self.tools = ToolManager(self)
        self.job_queue = JobQueue()
        self.job_bridge = JobBridge(self.job_queue, self)
        self._init_task_host()

        # central: tabs of canvases, or a welcome page
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.setTabsClosable(True)
        self.tabs.setMovable(True)
        self.tabs.tabCloseRequested.connect(lambda i: self.close_document(self._state_at(i)))
        self.tabs.currentChanged.connect(self._tab_changed)
        self.welcome = QLabel(
            "<div style='font-size:20px; color:#d7d9de'>GAN Studio</div>"
            "<div style='color:#8b8f98; margin-top:10px'>Open an image (Ctrl+O), drop files here, "
            "or create a new one (Ctrl+N).</div>")
        self.welcome.setAlignment(Qt.AlignmentFlag.AlignCenter)
        lay.addWidget(self.tabs)
        lay.addWidget(self.welcome)
        self.setCentralWidget(central)

        actions_mod.build(self)
        self.status = StatusBar(self)
        self.setStatusBar(self.status)
        self.status.set_device(self.preferences.device)

        self.tool_options = ToolOptions(self.tools)
        self.layers_panel = LayersPanel(self)
        self.jobs_panel = JobsPanel(self.job_bridge)
        self.add_dock(self.tool_options, "Tool options", "right", name="tool_options")
        # Layers keeps its controls in sight (its list scrolls by itself): no scroll area
        self.add_dock(self.layers_panel, "Layers", "right", name="layers", scroll=False)
        self.add_dock(self.jobs_panel, "Jobs", "right", name="jobs")
        self.resizeDocks([self.docks["tool_options"], self.docks["layers"], self.docks["jobs"]],
                         [320, 240, 190], Qt.Orientation.Vertical)
        self.resizeDocks([self.docks["layers"]], [300], Qt.Orientation.Horizontal)
        self.tools.tool_changed.connect(self._tool_changed)
        from .history_panel import install as install_history_panel

        install_history_panel(self)              # View > Panels > History
        if self.panels_menu is not None:
            self.panels_menu.addSeparator()
            self.panels_menu.addAction(self.main_toolbar.toggleViewAction())
            self.panels_menu.addAction(self.tools_toolbar.toggleViewAction())

        self._autosave_timer = QTimer(self)
        self._autosave_timer.setInterval(10_000)
        self._autosave_timer.timeout.connect(self._autosave_tick)
        self._autosave_timer.start()

        self.resize(1400, 900)
        self._restore_state()
        self._refresh_recent()
        if load_task_uis:
            self._install_task_uis()
        from .dialogs.shortcuts_dialog import apply_saved as apply_saved_shortcuts

        apply_saved_shortcuts(self)              # Help > Keyboard shortcuts: the user's own keys
        if "tool_options" in self.docks:
            self.docks["tool_options"].raise_()   # the front tab of the panels (task panels behind)
        self._tab_changed(-1)
        if check_recovery:
            QTimer.singleShot(0, self, self.offer_recovery)

    # == window API for task UIs (docs/UI.md) =========================================================
    @property
    def document(self) -> Document | None:
        st = self._current_state()
        return st.doc if st is not None else None

    @property
    def canvas(self) -> Canvas | None:
        st = self._current_state()
        return st.canvas if st is not None else None

    @property
    def documents(self) -> list[Document]:
        return [s.doc for s in self._docs]

    def menu(self, path: str) -> QMenu:
        """The menu at ``path`` ("Filters/AI", "Image", "Layer/Masks", ...), created as needed."""
        parts = [p for p in path.split("/") if p]
        if not parts:
            raise ValueError("empty menu path")
        top = parts[0].replace("&", "")
        menu = self.menus.get(top)
        if menu is None:
            menu = self.menuBar().addMenu(top)
            self.menus[top] = menu
        for part in parts[1:]:
            found = next((a.menu() for a in menu.actions()
                          if a.menu() is not None and a.menu().title().replace("&", "") == part), None)
            if found is None:
                # Filters keeps its "AI" submenu last: Blur, Sharpen, Adjustments ... go above it
                ai = next((a for a in menu.actions() if a.menu() is not None
                           and a.menu().title().replace("&", "") == "AI"), None)
                if ai is not None and part != "AI" and top == "Filters" and menu is self.menus[top]:
                    found = QMenu(part, menu)
                    menu.insertMenu(ai, found)
                else:
                    found = menu.addMenu(part)
            menu = found
        return menu

    def task_mask(self) -> np.ndarray | None:
        doc = self.document
        if doc is None:
            return None
        ai = getattr(doc, "ai_mask", None)
        if ai is not None and ai.any():
            return ai
        return doc.selection

    def show_error(self, title: str, message: str) -> None:
        log.error("%s: %s", title, message)
        self.last_error = (title, message)
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()  # window-modal, never blocks the event loop

    def status_message(self, text: str, timeout_ms: int = 5000) -> None:
        self.status.showMessage(text, timeout_ms)

    def add_dock(self, widget: QWidget, title: str, area: str = "right", *,
                 name: str | None = None, scroll: bool = True) -> QDockWidget:
        """A dock holding ``widget`` (in a scroll area unless ``scroll=False``, so a long panel
        never pushes the others off the screen nor grows the window). Task panels (every dock but
        the standard ones) are tabs of Tool options' group: ``dock.show(); dock.raise_()``."""
        key = name or title
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{name or title.lower().replace(' ', '_')}")
        dock.setWidget(scroll_wrap(widget) if scroll and not isinstance(widget, QScrollArea)
                       else widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        areas = {"right": Qt.DockWidgetArea.RightDockWidgetArea,
                 "left": Qt.DockWidgetArea.LeftDockWidgetArea,
                 "bottom": Qt.DockWidgetArea.BottomDockWidgetArea}
        where = areas.get(area, Qt.DockWidgetArea.RightDockWidgetArea)
        self.addDockWidget(where, dock)
        if key not in STANDARD_DOCKS and "tool_options" in self.docks and \
                self.dockWidgetArea(self.docks["tool_options"]) == where:
            # task panels are tabs next to Tool options: showing one never squeezes Layers / Jobs
            self.tabifyDockWidget(self.docks["tool_options"], dock)
        self.docks[key] = dock
        if self.panels_menu is not None:
            self.panels_menu.addAction(dock.toggleViewAction())
        return dock

    def _update_device(self, job: Job) -> None:
        dev = None
        info = getattr(job.result, "info", None)
        if isinstance(info, dict) and info.get("device"):
            dev = str(info["device"])
        elif self.preferences.device == "auto" and "torch" in sys.modules:
            torch = sys.modules["torch"]
            try:
                if torch.cuda.is_available():
                    dev = "cuda"
                elif getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
                    dev = "mps"
                else:
                    dev = "cpu"
            except Exception:  # noqa: BLE001
                dev = None
        if dev:
            self.device_in_use = dev
            self.status.set_device(dev)

    # == documents ========================================================================================
    def _state_at(self, index: int) -> DocState | None:
        w = self.tabs.widget(index)
        return next((s for s in self._docs if s.canvas is w), None)

    def _current_state(self) -> DocState | None:
        return self._state_at(self.tabs.currentIndex()) if self.tabs.count() else None

    def _state_of(self, doc: Document) -> DocState | None:
        return next((s for s in self._docs if s.doc is doc), None)

    def add_document(self, doc: Document, *, recovered: Any = None) -> Canvas:
        doc.history.memory_limit = int(self.preferences.undo_memory_mb) << 20
        canvas = Canvas(doc, self.tools)
        canvas.set_mask_tint(self.preferences.ai_mask_rgb)
        canvas.zoom_changed.connect(self._zoom_changed)
        canvas.cursor_moved.connect(self.status.set_cursor)
        st = DocState(doc, canvas)
        st.subscriptions = Connections()
        for sig in (doc.history.events.changed, doc.events.selection, doc.events.active_layer,
                    doc.events.layers, doc.events.modified, doc.events.path, doc.events.size,
                    getattr(doc.events, "ai_mask", None)):
            if sig is None:
                continue
            st.subscriptions.connect(sig, self._doc_event)
        if self.preferences.autosave_interval_s > 0:
            try:
                from ganstudio.core.autosave import Autosaver

                # a recovered document adopts its recovery files (kept until it is saved) and
                # autosaves at once, so a second crash right after recovery loses nothing
                st.autosaver = Autosaver(doc, interval_s=self.preferences.autosave_interval_s,
                                         adopt=recovered)
                if recovered is not None:
                    st.autosaver.save_now(background=True)
            except Exception:  # noqa: BLE001
                log.warning("autosave unavailable:\n%s", traceback.format_exc())
        self._docs.append(st)
        i = self.tabs.addTab(canvas, doc.name)
        self.tabs.setCurrentIndex(i)
        self._doc_event()
        return canvas

    def close_document(self, st: DocState | None = None, *, ask: bool | None = None) -> bool:
        st = st if st is not None else self._current_state()
        if st is None:
            return False
        if (self.ask_before_close if ask is None else ask) and st.doc.modified:
            if not self._confirm_discard(st):
                return False
        self._drop_state(st)
        return True

    def _drop_state(self, st: DocState) -> None:
        if st.subscriptions is not None:
            st.subscriptions.disconnect_all()
        if st.autosaver is not None:
            if st.doc.modified and not st.discarded:
                st.autosaver.detach()      # unsaved work nobody chose to discard: keep recovery
            else:
                st.autosaver.close()
        if st.canvas.compare_mode != "off":
            st.canvas.set_compare(None, "off")
        st.canvas.detach()
        self._docs.remove(st)
        i = self.tabs.indexOf(st.canvas)
        if i >= 0:
            self.tabs.removeTab(i)
        st.canvas.setParent(None)
        st.canvas.deleteLater()
        self._tab_changed(self.tabs.currentIndex())

    def _confirm_discard(self, st: DocState) -> bool:
        self.tabs.setCurrentWidget(st.canvas)
        answer = QMessageBox.question(
            self, "Unsaved changes", f"Save the changes to “{st.doc.name}” before closing?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save)
        if answer == QMessageBox.StandardButton.Cancel:
            return False
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        st.discarded = True
        return True

    def _tab_changed(self, _index: int) -> None:
        st = self._current_state()
        self.tabs.setVisible(bool(self._docs))
        self.welcome.setVisible(not self._docs)
        doc = st.doc if st else None
        self.layers_panel.set_document(doc)
        if st is not None:
            self.status.set_zoom(st.canvas.zoom)
        else:
            self.status.zoom.setText("")
            self.status.set_cursor(-1, -1)
        self._doc_event()
        self.tool_options.refresh()
        self.document_changed.emit(doc)

    def _doc_event(self, *_: Any) -> None:
        st = self._current_state()
        doc = st.doc if st else None
        if doc is not None:
            self.status.set_size(doc.width, doc.height, len(doc.layers))
            self.setWindowTitle(f"{doc.name}{' *' if doc.modified else ''} — GAN Studio")
        else:
            self.status.set_size(0, 0, 0)
            self.setWindowTitle("GAN Studio")
        for s in self._docs:
            i = self.tabs.indexOf(s.canvas)
            if i >= 0:
                self.tabs.setTabText(i, s.doc.name + (" *" if s.doc.modified else ""))
                self.tabs.setTabToolTip(i, str(s.doc.path or s.doc.name))
        self._sync_compare()
        self._update_actions()
        if self.tools.current is not None and self.tools.current.name in ("label", "fill"):
            self.tool_options.refresh()  # the class palette of the (new) active label layer

    def _update_actions(self) -> None:
        if self._actions_batch:
            self._actions_pending = True
            return
        actions_mod.update(self)

    @contextlib.contextmanager
    def actions_batch(self):  # noqa: ANN201
        """Fold the action updates of several document events into one at the end: a result
        apply sends five, each ~420 QAction updates (issue 13, apply stall)."""
        self._actions_batch += 1
        try:
            yield
        finally:
            self._actions_batch -= 1
            if not self._actions_batch and self._actions_pending:
                self._actions_pending = False
                actions_mod.update(self)

    def _zoom_changed(self, zoom: float) -> None:
        if self.sender() is self.canvas:
            self.status.set_zoom(zoom)

    def _tool_changed(self, _name: str) -> None:
        for s in self._docs:
            s.canvas.tool_changed()

    def _autosave_tick(self) -> None:
        """Autosave (core.autosave writes on this thread) only while the user is idle: not in the
        middle of a stroke, and no input for 2 s, so that the save never interrupts painting."""
        now = time.monotonic()
        if any(now - s.canvas.last_input < 2.0 or s.canvas._tool_active for s in self._docs):
            return
        problems = []
        for s in self._docs:
            if s.autosaver is not None:
                s.autosaver.maybe_save()
                if s.autosaver.status:
                    problems.append(f"{s.doc.name}: {s.autosaver.status}")
        if problems:
            self.status_message("; ".join(problems), 9000)

    # == window state, drag and drop, close ==================================================================
    def _restore_state(self) -> None:
        s = settings()
        geo = s.value("window/geometry")
        state = s.value("window/state")
        if isinstance(geo, QByteArray):
            self.restoreGeometry(geo)
        else:  # first start: most of the screen
            screen = self.screen()
            if screen is not None:
                avail = screen.availableGeometry()
                self.resize(int(avail.width() * 0.92), int(avail.height() * 0.92))
                self.setWindowState(Qt.WindowState.WindowMaximized)
        if isinstance(state, QByteArray):
            self.restoreState(state)

    def save_window_state(self) -> None:
        s = settings()
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.sync()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        files = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if files:
            event.acceptProposedAction()
            for f in files:
                self.open_path(f)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if self.ask_before_close:
            for st in list(self._docs):
                if st.doc.modified and not self._confirm_discard(st):
                    event.ignore()
                    return
        running = self.job_queue.active()
        self.save_window_state()
        for st in list(self._docs):
            self._drop_state(st)
        self.job_bridge.close()
        self.job_queue.shutdown(timeout=10.0)
        self._autosave_timer.stop()
        if running:
            log.info("cancelled %d job(s) on exit", len(running))
        event.accept()

    def about(self) -> None:
        QMessageBox.about(
            self, "About GAN Studio",
            f"<h3>GAN Studio {__version__}</h3><p>A desktop image editor with local GAN tools: "
            "layers, masks, and AI results as new layers you can compare, mask, undo and export.</p>"
            "<p>Everything runs on this computer.</p>")
