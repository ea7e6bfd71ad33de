"""Where jobs run. A Backend schedules work on its worker threads (``start``) and runs one job
(``execute``: a generator of Progress returning the Result). LocalBackend runs the task on the
worker thread of this process (one by default: one GPU job at a time); ProcessBackend
(jobs/process_backend.py) sends the serialised job to a child process instead."""

from __future__ import annotations

import abc
import collections
import threading
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ganstudio.tasks.base import Progress, Result

    from .job import Job


class Backend(abc.ABC):
    @abc.abstractmethod
    def start(self, work: Callable[[], None]) -> None:
        """Schedule ``work`` (runs one job to completion; never raises)."""

    @abc.abstractmethod
    def shutdown(self, timeout: float | None = None) -> None:
        """Stop accepting work, drop what has not started and join the workers."""

    @abc.abstractmethod
    def threads(self) -> list[threading.Thread]:
        """Live worker threads (tests check none is left running)."""

    def execute(self, job: Job) -> Generator[Progress, None, Any]:
        """Run ``job`` (called on a worker thread): in this process by default."""
        from .execute import run_job

        return run_job(job, self.sessions)

    def close_session(self, key: str) -> None:
        """Close session ``key`` (called on a worker thread, after its queued jobs)."""
        session = self.sessions.pop(key, None)
        if session is not None:
            session.close()

    @property
    def sessions(self) -> dict[str, Any]:
        """Live TaskSession objects by key (in this process)."""
        d = self.__dict__.get("_sessions")
        if d is None:
            d = self.__dict__["_sessions"] = {}
        return d


class LocalBackend(Backend):
    def __init__(self, workers: int = 1, name: str = "ganstudio-job") -> None:
        self.workers = max(1, int(workers))
        self.name = name
        self._pending: collections.deque[Callable[[], None]] = collections.deque()
        self._cond = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._closed = False

    def start(self, work: Callable[[], None]) -> None:
        with self._cond:
            if self._closed:
                raise RuntimeError("backend is shut down")
            self._pending.append(work)
            self._threads = [t for t in self._threads if t.is_alive()]
            if len(self._threads) < self.workers:
                t = threading.Thread(target=self._loop, name=f"{self.name}-{len(self._threads)}",
                                     daemon=True)
                self._threads.append(t)
                t.start()
            self._cond.notify()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    # Idle workers exit after a while so that no thread lingers needlessly.
                    if not self._cond.wait(timeout=5.0) and not self._pending:
                        self._threads = [t for t in self._threads if t is not threading.current_thread()]
                        return
                if self._closed and not self._pending:
                    return
                work = self._pending.popleft()
            work()

    def shutdown(self, timeout: float | None = None) -> None:
        with self._cond:
            self._closed = True
            self._pending.clear()
            self._cond.notify_all()
            threads = list(self._threads)
        for t in threads:
            if t is not threading.current_thread():
                t.join(timeout)

    def threads(self) -> list[threading.Thread]:
        return [t for t in self._threads if t.is_alive()]
