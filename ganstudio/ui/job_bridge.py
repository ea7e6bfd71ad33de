"""Marshals the Qt-free JobQueue's psygnal events (emitted on worker threads) to the main thread."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from ganstudio.jobs import Job, JobQueue


class JobBridge(QObject):
    added = Signal(object)             # Job
    state_changed = Signal(object, object)     # Job, JobState
    progress_changed = Signal(object, object)  # Job, Progress
    removed = Signal(object)

    def __init__(self, queue: JobQueue, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.queue = queue
        queue.events.added.connect(self._on_added)      # runs on the submitting (main) thread
        queue.events.removed.connect(self.removed.emit)

    def _on_added(self, job: Job) -> None:
        # Connected before the backend starts the job: no event can be missed. Emitting a Qt
        # signal from a worker thread to this main-thread object is a queued connection.
        job.events.state.connect(lambda state, j=job: self.state_changed.emit(j, state))
        job.events.progress.connect(lambda p, j=job: self.progress_changed.emit(j, p))
        self.added.emit(job)

    def close(self) -> None:
        try:
            self.queue.events.added.disconnect(self._on_added)
        except Exception:  # noqa: BLE001
            pass


__all__ = ["JobBridge"]
