"""Filters/AI > Train your own style…: a dialog that trains a style in the background.

Training runs in a separate process (``ganstudio train style ... --progress-json``, so the window
stays responsive and torch's threads never compete with the canvas); the dialog shows a progress
bar with rate and ETA, the latest preview (photos | stylised) and the log. Closing the dialog
keeps the training running (the status bar reports it; reopening the dialog shows it again).
**Stop** asks the trainer to save a checkpoint and exit (a STOP file in the run folder);
**Resume** continues from that checkpoint - also after a restart of the app. When training ends
the style is registered as the user model ``user.style-NAME``: the Style panel and
``ganstudio stylize --model user.style-NAME`` can use it at once.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

TITLE = "Train your own style"
METHODS = (("fastcut", "FastCUT (fast, one generator - recommended)"),
           ("cut", "CUT (a little slower, keeps content closer)"),
           ("cyclegan", "CycleGAN (2 generators, about 3x slower)"))


def _fmt_eta(s: float | None) -> str:
    if s is None:
        return "--:--"
    s = int(max(0, s))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60:02d}:{s % 60:02d}"


def ganstudio_command() -> list[str]:
    """argv prefix that runs the ganstudio CLI in a child process (checkout, wheel or bundle)."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    return [sys.executable, "-m", "ganstudio"]


class StyleTraining(QObject):
    """One ``ganstudio train style`` child process; parses its JSON lines into signals."""

    progress = Signal(int, int, float, object)      # step, total, it/s, eta seconds | None
    preview = Signal(str)
    log_line = Signal(str)
    finished = Signal(object, str)                  # result dict | None, error ("" = ok)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.proc: QProcess | None = None
        self.run_dir: Path | None = None
        self.args: list[str] = []
        self.result: dict | None = None
        self.last: dict[str, Any] = {}
        self._buf = b""
        self._stopping = False

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.state() != QProcess.ProcessState.NotRunning

    def start(self, args: list[str], run_dir: Path, resume: bool = False) -> None:
        if self.running:
            raise RuntimeError("a style training is already running")
        self.args, self.run_dir, self.result = list(args), Path(run_dir), None
        self._buf, self._stopping = b"", False
        argv = ganstudio_command() + ["train", "style", *args, "--out", str(run_dir), "--progress-json"]
        if resume:
            argv.append("--resume")
        self.proc = QProcess(self)
        env = QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONUNBUFFERED", "1")
        self.proc.setProcessEnvironment(env)
        self.proc.setProcessChannelMode(QProcess.ProcessChannelMode.SeparateChannels)
        self.proc.readyReadStandardOutput.connect(self._read)
        self.proc.readyReadStandardError.connect(self._read_err)
        self.proc.finished.connect(self._done)
        self.proc.errorOccurred.connect(self._error)
        self.proc.start(argv[0], argv[1:])

    def stop(self) -> None:
        """Ask for a checkpoint and a clean exit (the trainer polls the STOP file every step)."""
        if self.running and self.run_dir is not None:
            self._stopping = True
            self.run_dir.mkdir(parents=True, exist_ok=True)
            (self.run_dir / "STOP").write_text("stop requested by the window\n")

    def kill(self, wait_ms: int = 15000) -> None:
        """Stop, wait for the checkpoint, then end the process (window closing)."""
        if not self.running:
            return
        self.stop()
        if not self.proc.waitForFinished(wait_ms):
            self.proc.kill()
            self.proc.waitForFinished(3000)

    def _read(self) -> None:
        self._buf += bytes(self.proc.readAllStandardOutput())
        *lines, self._buf = self._buf.split(b"\n")
        for raw in lines:
            line = raw.decode("utf-8", "replace").strip()
            if not line:
                continue
            try:
                msg = json.loads(line)
            except ValueError:
                self.log_line.emit(line)
                continue
            if "step" in msg:
                self.last = msg
                self.progress.emit(int(msg["step"]), int(msg.get("total") or 0),
                                   float(msg.get("it_s") or 0.0), msg.get("eta_s"))
                if msg.get("preview"):
                    self.preview.emit(msg["preview"])
            elif "log" in msg:
                self.log_line.emit(str(msg["log"]))
            elif "result" in msg:
                self.result = msg["result"]
                if self.result.get("preview"):
                    self.preview.emit(self.result["preview"])
            elif msg.get("ok") is False:
                self.result = {"error": msg.get("error", "failed")}

    def _read_err(self) -> None:
        text = bytes(self.proc.readAllStandardError()).decode("utf-8", "replace")
        for line in text.splitlines():
            if line.strip() and "Warning" not in line:
                self.log_line.emit(line)

    def _done(self, code: int, _status: Any = None) -> None:
        self._read()
        res = self.result
        if code == 0 and res is not None and "error" not in res:
            self.finished.emit(res, "")
        else:
            err = (res or {}).get("error") or f"training exited with status {code}"
            self.finished.emit(None, err)

    def _error(self, err: Any) -> None:
        if err == QProcess.ProcessError.FailedToStart:
            self.finished.emit(None, "could not start the training process")


class TrainStyleDialog(QDialog):
    def __init__(self, window: Any = None, training: StyleTraining | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.window = window
        self.setWindowTitle(TITLE)
        self.setObjectName("train_style_dialog")
        self.training = training or StyleTraining(self)
        #: extra CLI arguments (tests: tiny networks)
        self.extra_args: list[str] = []
        lay = QVBoxLayout(self)
        info = QLabel("Teach GAN Studio a style from examples: a folder of ordinary photos and a "
                      "folder of images in the style you want (paintings, film looks ...; 10-100 "
                      "each is plenty). Training runs in the background; Stop saves a checkpoint "
                      "and Resume continues. The result appears in Filters > Stylize.")
        info.setWordWrap(True)
        lay.addWidget(info)
        form = QFormLayout()
        self.photos = self._folder_row(form, "Photos folder")
        self.style = self._folder_row(form, "Style folder")
        self.name = QLineEdit()
        self.name.setPlaceholderText("e.g. my-watercolour")
        form.addRow("Style name", self.name)
        self.method = QComboBox()
        for key, label in METHODS:
            self.method.addItem(label, key)
        form.addRow("Method", self.method)
        self.steps = QSpinBox()
        self.steps.setRange(1, 1_000_000)
        self.steps.setSingleStep(500)
        self.steps.setValue(3000)
        form.addRow("Steps", self.steps)
        self.size = QSpinBox()
        self.size.setRange(64, 1024)
        self.size.setSingleStep(64)
        self.size.setValue(256)
        self.size.setSuffix(" px")
        form.addRow("Crop size", self.size)
        self.device = QComboBox()
        for d in ("auto", "cpu", "cuda", "mps"):
            self.device.addItem(d, d)
        form.addRow("Device", self.device)
        lay.addLayout(form)
        self.bar = QProgressBar()
        self.bar.setObjectName("train_style_progress")
        self.eta = QLabel("Not started")
        lay.addWidget(self.bar)
        lay.addWidget(self.eta)
        self.preview = QLabel()
        self.preview.setMinimumHeight(120)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        lay.addWidget(self.preview)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(500)
        self.log.setFixedHeight(90)
        lay.addWidget(self.log)
        row = QHBoxLayout()
        self.start_btn = QPushButton("Start")
        self.resume_btn = QPushButton("Resume")
        self.stop_btn = QPushButton("Stop (keep checkpoint)")
        self.close_btn = QPushButton("Close (keeps training)")
        for b in (self.start_btn, self.resume_btn, self.stop_btn, self.close_btn):
            row.addWidget(b)
        lay.addLayout(row)
        self.start_btn.clicked.connect(lambda: self.start(resume=False))
        self.resume_btn.clicked.connect(lambda: self.start(resume=True))
        self.stop_btn.clicked.connect(self.training.stop)
        self.close_btn.clicked.connect(self.hide)
        self.training.progress.connect(self._progress)
        self.training.preview.connect(self._preview)
        self.training.log_line.connect(self.log.appendPlainText)
        self.training.finished.connect(self._finished)
        self._update_buttons()

    def _folder_row(self, form: QFormLayout, label: str) -> QLineEdit:
        edit = QLineEdit()
        btn = QPushButton("…")
        btn.setFixedWidth(32)

        def browse() -> None:
            d = QFileDialog.getExistingDirectory(self, label, edit.text())
            if d:
                edit.setText(d)

        btn.clicked.connect(browse)
        w = QWidget()
        h = QHBoxLayout(w)
        h.setContentsMargins(0, 0, 0, 0)
        h.addWidget(edit)
        h.addWidget(btn)
        form.addRow(label, w)
        return edit

    def run_dir(self) -> Path:
        from ganstudio.train.style import default_run_dir

        return default_run_dir(self.name.text().strip())

    def cli_args(self) -> list[str]:
        return ["--photos", self.photos.text().strip(), "--style", self.style.text().strip(),
                "--name", self.name.text().strip(), "--method", self.method.currentData(),
                "--steps", str(self.steps.value()), "--size", str(self.size.value()),
                "--device", self.device.currentData(), *self.extra_args]

    def validate(self) -> str:
        if not self.name.text().strip():
            return "Give the style a name."
        for what, edit in (("photos", self.photos), ("style", self.style)):
            if not Path(edit.text().strip()).is_dir():
                return f"Choose the {what} folder."
        try:
            from ganstudio.train.style import slug

            slug(self.name.text())
        except ValueError as exc:
            return str(exc)
        return ""

    def start(self, resume: bool = False) -> bool:
        err = self.validate()
        if err:
            self.eta.setText(err)
            return False
        rd = self.run_dir()
        if resume and not (rd / "ckpt.pt").exists():
            self.eta.setText("No checkpoint to resume for this name; press Start.")
            return False
        self.log.appendPlainText(("Resuming" if resume else "Starting") + f" in {rd}")
        self.training.start(self.cli_args(), rd, resume=resume)
        self.eta.setText("Loading images…")
        self._update_buttons()
        return True

    def _update_buttons(self) -> None:
        running = self.training.running
        self.start_btn.setEnabled(not running)
        self.resume_btn.setEnabled(not running)
        self.stop_btn.setEnabled(running)

    def _progress(self, step: int, total: int, rate: float, eta: Any) -> None:
        self.bar.setMaximum(max(1, total))
        self.bar.setValue(min(step, max(1, total)))
        self.eta.setText(f"Step {step}/{total} - {rate:.2f} it/s - ETA {_fmt_eta(eta)}")
        self._update_buttons()
        if self.window is not None and not self.isVisible():
            self.window.status_message(f"Training style: {step}/{total}, ETA {_fmt_eta(eta)}", 10000)

    def _preview(self, path: str) -> None:
        pm = QPixmap(path)
        if not pm.isNull():
            self.preview.setPixmap(pm.scaledToHeight(min(240, pm.height()),
                                                     Qt.TransformationMode.SmoothTransformation))

    def _finished(self, result: dict | None, error: str) -> None:
        self._update_buttons()
        if result is None:
            self.eta.setText(f"Stopped: {error}" if error else "Stopped")
            self.log.appendPlainText(error)
            return
        if result.get("model_id"):
            msg = f"Done: style {result['model_id']} is ready (Filters > Style transfer…)."
            if self.window is not None:
                self.window.status_message(msg, 15000)
                ui = self.window.task_ui("style") if hasattr(self.window, "task_ui") else None
                refresh = getattr(ui, "refresh_models", None)
                if callable(refresh):
                    refresh()
        else:
            msg = f"Stopped at step {result.get('step')} - checkpoint kept; press Resume to continue."
        self.eta.setText(msg)
        self.log.appendPlainText(msg)


_dialogs: dict[int, TrainStyleDialog] = {}


def open_dialog(window: Any) -> TrainStyleDialog:
    dlg = _dialogs.get(id(window))
    if dlg is None:
        dlg = TrainStyleDialog(window, parent=window if isinstance(window, QWidget) else None)
        _dialogs[id(window)] = dlg

        def cleanup(*_a: Any) -> None:
            d = _dialogs.pop(id(window), None)
            if d is not None:
                d.training.kill()

        if isinstance(window, QObject):
            window.destroyed.connect(cleanup)
            from PySide6.QtWidgets import QApplication

            app = QApplication.instance()
            if app is not None:
                app.aboutToQuit.connect(cleanup)
        dlg._cleanup = cleanup  # noqa: SLF001 - closed by the window's close hook too
    dlg.show()
    dlg.raise_()
    return dlg


def close_dialog(window: Any) -> None:
    """Stop a running training (checkpoint kept) and drop the dialog of ``window``."""
    dlg = _dialogs.get(id(window))
    if dlg is not None:
        dlg._cleanup()  # noqa: SLF001
        dlg.close()
        dlg.deleteLater()


def install(window: Any) -> None:
    act = window.menu("Filters/AI").addAction(TITLE + "…")
    act.setObjectName("action_train_style")
    act.setStatusTip("Train a style from a folder of photos and a folder of style images (background)")
    act.triggered.connect(lambda _c=False: open_dialog(window))
    if isinstance(window, QObject) and hasattr(window, "installEventFilter"):
        window.installEventFilter(_CloseWatcher(window))


class _CloseWatcher(QObject):
    """Ends the training process (checkpoint kept) and the dialog when the window closes."""

    def eventFilter(self, obj: QObject, event: Any) -> bool:  # noqa: N802 - Qt override
        from PySide6.QtCore import QEvent

        if obj is self.parent() and event.type() == QEvent.Type.Close:
            close_dialog(obj)
        return False
