"""Jobs panel: one row per job with a progress bar, state, elapsed time and an estimate of the
time left (ETA), error text and a cancel button; "Drop queued" and "Clear finished" for the whole
queue. The times follow a clock (``JobsPanel.clock``, time.monotonic) read on the GUI thread: the
row notes when it saw the job start, and a 1 s timer moves "elapsed" on between progress events."""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton, QScrollArea,
                               QToolButton, QVBoxLayout, QWidget)

from ganstudio.jobs import Job, JobQueue, JobState
from ganstudio.tasks.base import Progress

from .job_bridge import JobBridge
from .theme import icon


def format_duration(seconds: float) -> str:
    """0:07, 1:05, 1:02:03 (rounded to whole seconds)."""
    s = max(0, int(round(seconds)))
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


ETA_MIN_FRACTION = 0.02    # below this an estimate is a guess: not shown
ETA_MIN_ELAPSED_S = 1.0


class JobRow(QFrame):
    def __init__(self, job: Job, queue: JobQueue, parent: QWidget | None = None, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(parent)
        self.job = job
        self.clock = clock
        self.started: float | None = None      # when this row saw the job running
        self.ended: float | None = None
        self.fraction = 0.0
        self.setObjectName("jobRow")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(2)
        top = QHBoxLayout()
        self.title = QLabel(job.title)
        self.title.setStyleSheet("font-weight: 600;")
        top.addWidget(self.title, 1)
        self.state = QLabel()
        top.addWidget(self.state)
        self.cancel = QToolButton()
        self.cancel.setIcon(icon("cancel"))
        self.cancel.setAutoRaise(True)
        self.cancel.setToolTip("Cancel this job (a queued job is dropped)")
        self.cancel.clicked.connect(lambda: queue.cancel(job))
        top.addWidget(self.cancel)
        layout.addLayout(top)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        layout.addWidget(self.bar)
        self.times = QLabel()
        self.times.setObjectName("jobTimes")
        self.times.setToolTip("Time since the job started, and an estimate of the time left "
                              "from its progress so far")
        self.times.hide()
        layout.addWidget(self.times)
        self.decide = QWidget()             # a finished result shown as a preview (#16)
        drow = QHBoxLayout(self.decide)
        drow.setContentsMargins(0, 0, 0, 0)
        self.apply_btn = QPushButton("Apply")
        self.apply_btn.setToolTip("Add the previewed result to the image (one undo step)")
        self.discard_btn = QPushButton("Discard")
        self.vary_btn = QPushButton("Variation")
        self.vary_btn.setToolTip("Discard this one and run it again with the next seed")
        for b in (self.apply_btn, self.discard_btn, self.vary_btn):
            drow.addWidget(b)
        drow.addStretch(1)
        self.decide.hide()
        layout.addWidget(self.decide)
        self.error = QLabel()
        self.error.setObjectName("jobError")
        self.error.setWordWrap(True)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.hide()
        layout.addWidget(self.error)
        self.update_state()

    def update_progress(self, p: Progress) -> None:
        self.bar.setValue(int(p.fraction * 1000))
        self.bar.setFormat(f"{p.stage}  %p%" if p.stage else "%p%")
        if self.started is None:
            self.started = self.clock()
        self.fraction = float(p.fraction)
        self.update_times()

    def eta_s(self) -> float | None:
        """Seconds left, extrapolated from the progress so far (None while too early to say)."""
        if self.started is None or self.ended is not None:
            return None
        elapsed = self.clock() - self.started
        f = self.fraction
        if f < ETA_MIN_FRACTION or f >= 1.0 or elapsed < ETA_MIN_ELAPSED_S:
            return None
        return elapsed * (1.0 - f) / f

    def update_times(self) -> None:
        if self.started is None:
            self.times.hide()
            return
        end = self.ended if self.ended is not None else self.clock()
        elapsed = format_duration(end - self.started)
        if self.ended is not None:
            text = f"took {elapsed}"
        else:
            eta = self.eta_s()
            text = f"{elapsed} elapsed" + ("" if eta is None else f" · about {format_duration(eta)} left")
        self.times.setText(text)
        self.times.show()

    def show_decision(self, on: bool) -> None:
        self.decide.setVisible(on)
        self.vary_btn.setVisible(on and hasattr(self.job.request, "seed"))
        if on:
            self.bar.setFormat("preview — apply or discard")
        else:
            outcome = self.job.data.get("decision")
            if outcome:
                self.bar.setFormat(str(outcome))

    def update_state(self) -> None:
        job = self.job
        self.state.setText(job.state.value)
        offset = self.clock() - time.monotonic()   # the job's own times, on this row's clock
        if self.started is None and job.started_at is not None:
            self.started = job.started_at + offset
        elif job.state is JobState.RUNNING and self.started is None:
            self.started = self.clock()
        if job.done and self.started is not None and self.ended is None:
            self.ended = job.finished_at + offset if job.finished_at is not None else self.clock()
        self.update_times()
        self.cancel.setEnabled(not job.done)
        if job.state is JobState.FINISHED:
            self.bar.setValue(1000)
            self.bar.setFormat(str(job.data.get("decision") or "done"))
            if job.data.get("awaiting"):
                self.bar.setFormat("preview — apply or discard")
            refused = job.data.get("refused")
            if refused:                      # the window's placement check (jobs/placement.py)
                self.bar.setFormat("not applied")
                self.error.setText(f"Not applied: {refused}.")
                self.error.show()
        elif job.state is JobState.CANCELLED:
            self.bar.setFormat("replaced by a newer one" if job.superseded_by else "cancelled")
        elif job.state is JobState.QUEUED:
            self.bar.setFormat("waiting…")
        if job.state is JobState.FAILED:
            self.bar.setFormat("failed")
            self.error.setText(job.error or "failed")
            self.error.show()


class JobsPanel(QWidget):
    apply_requested = Signal(object)    # Job (a previewed result)
    discard_requested = Signal(object)
    vary_requested = Signal(object)

    def __init__(self, bridge: JobBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.queue = bridge.queue
        self.rows: dict[int, JobRow] = {}
        self.clock: Callable[[], float] = time.monotonic
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._update_running_times)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        top = QHBoxLayout()
        self.drop = QPushButton("Drop queued")
        self.drop.setToolTip("Remove every job that has not started yet")
        self.drop.clicked.connect(self.queue.drop_queued)
        self.clear = QPushButton("Clear finished")
        self.clear.clicked.connect(self._clear_finished)
        top.addWidget(self.drop)
        top.addWidget(self.clear)
        top.addStretch(1)
        layout.addLayout(top)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        inner = QWidget()
        self.list = QVBoxLayout(inner)
        self.list.setContentsMargins(0, 0, 0, 0)
        self.list.setSpacing(4)
        self.empty = QLabel("No jobs yet. AI tools (Filters/AI) run here, one at a time, "
                            "and can be cancelled.")
        self.empty.setObjectName("emptyHint")
        self.empty.setWordWrap(True)
        self.list.addWidget(self.empty)
        self.list.addStretch(1)
        scroll.setWidget(inner)
        layout.addWidget(scroll, 1)
        bridge.added.connect(self._added)
        bridge.state_changed.connect(self._state)
        bridge.progress_changed.connect(self._progress)
        bridge.removed.connect(self._removed)
        bridge.decision_needed.connect(lambda job: self._decision(job, True))
        bridge.decision_made.connect(lambda job: self._decision(job, False))
        self._update_buttons()

    def _decision(self, job: Job, on: bool) -> None:
        row = self.rows.get(job.id)
        if row is not None:
            row.show_decision(on)

    def _update_running_times(self) -> None:
        running = [r for r in self.rows.values() if r.started is not None and r.ended is None]
        for r in running:
            r.update_times()
        if not running:
            self._tick.stop()

    def _added(self, job: Job) -> None:
        row = JobRow(job, self.queue, clock=lambda: self.clock())
        row.apply_btn.clicked.connect(lambda _c=False, j=job: self.apply_requested.emit(j))
        row.discard_btn.clicked.connect(lambda _c=False, j=job: self.discard_requested.emit(j))
        row.vary_btn.clicked.connect(lambda _c=False, j=job: self.vary_requested.emit(j))
        self.rows[job.id] = row
        self.list.insertWidget(0, row)
        self.empty.hide()
        self._update_buttons()

    def _state(self, job: Job, _state: JobState) -> None:
        row = self.rows.get(job.id)
        if row is not None:
            row.update_state()
            if row.started is not None and row.ended is None and not self._tick.isActive():
                self._tick.start()
        self._update_buttons()

    def _progress(self, job: Job, p: Progress) -> None:
        row = self.rows.get(job.id)
        if row is not None and not job.done:
            row.update_progress(p)

    def _removed(self, job: Job) -> None:
        row = self.rows.pop(job.id, None)
        if row is not None:
            row.setParent(None)
            row.deleteLater()
        self.empty.setVisible(not self.rows)
        self._update_buttons()

    def _clear_finished(self) -> None:
        self.queue.clear_finished()

    def _update_buttons(self) -> None:
        self.drop.setEnabled(any(j.state is JobState.QUEUED for j in self.queue.jobs))
        self.clear.setEnabled(any(j.done for j in self.queue.jobs))
