"""ProcessBackend: runs each job in a child process (multiprocessing "spawn") from the serialised
job alone (``Job.to_dict()`` through jobs/serialize.pack: JSON header + raw array buffers over a
pipe). The proof that jobs are data: nothing but the job's data reaches the worker.

* One long-lived child per backend (started on the first job, restarted after a crash), running
  one job at a time; sessions (prepare / update) live in it between jobs.
* Progress (previews included) streams back; cancel sets a shared Event the child's CancelToken
  reads, so a task stops at its next check exactly as in a thread.
* A job that carries a Python function (``task_fn``) cannot run here: it fails with a clear error.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import traceback
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from ganstudio.tasks.base import Cancelled, Progress, TaskError

from .backend import LocalBackend
from .job import progress_from_dict, result_from_dict
from .process_worker import recv, send

if TYPE_CHECKING:
    from .job import Job

log = logging.getLogger(__name__)


class WorkerError(RuntimeError):
    """The task failed (or the worker process died) in the child process."""


class ProcessBackend(LocalBackend):
    def __init__(self, name: str = "ganstudio-proc", start_timeout: float = 120.0) -> None:
        super().__init__(workers=1, name=name)
        self._ctx = multiprocessing.get_context("spawn")
        self._proc: Any = None
        self._conn: Any = None
        self._cancel: Any = None
        self._pipe_lock = threading.Lock()
        self.start_timeout = start_timeout
        self.jobs_run = 0

    # -- child process ----------------------------------------------------------------------------
    def _ensure_child(self) -> None:
        if self._proc is not None and self._proc.is_alive():
            return
        self._stop_child()
        from .process_worker import main

        parent, child = self._ctx.Pipe(duplex=True)
        self._cancel = self._ctx.Event()
        self._proc = self._ctx.Process(target=main, args=(child, self._cancel),
                                       name=f"{self.name}-worker", daemon=True)
        self._proc.start()
        child.close()
        self._conn = parent

    def _stop_child(self, timeout: float = 5.0) -> None:
        proc, conn = self._proc, self._conn
        self._proc = self._conn = None
        if conn is not None:
            try:
                send(conn, {"op": "quit"})
            except Exception:  # noqa: BLE001
                pass
        if proc is not None:
            proc.join(timeout)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout)
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001
                pass

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    # -- Backend ------------------------------------------------------------------------------------
    def execute(self, job: Job) -> Generator[Progress, None, Any]:
        if not job.serialisable:
            raise TaskError(f"{job.title}: this job carries a Python function and cannot run in a "
                            "worker process")
        message = {"op": "run", "job": job.to_dict()}
        with self._pipe_lock:
            self._ensure_child()
            self._cancel.clear()
            send(self._conn, message)
            del message
            finished = False
            try:
                while True:
                    if job.ctx.cancel.cancelled:
                        self._cancel.set()
                    if not self._conn.poll(0.05):
                        if not self._proc.is_alive():
                            code = self._proc.exitcode
                            self._stop_child()
                            finished = True
                            raise WorkerError(f"the worker process exited (code {code})")
                        continue
                    try:
                        msg = recv(self._conn)
                    except (EOFError, OSError) as exc:
                        self._stop_child()
                        finished = True
                        raise WorkerError(f"the worker process exited ({type(exc).__name__})") from None
                    op = msg.get("op")
                    if op == "progress":
                        yield progress_from_dict(msg["progress"])
                    elif op == "result":
                        finished = True
                        self.jobs_run += 1
                        return result_from_dict(msg["result"])
                    elif op == "error":
                        finished = True
                        kind, text = msg.get("kind"), str(msg.get("message", ""))
                        if kind == "cancelled":
                            raise Cancelled()
                        if kind == "task":
                            raise TaskError(text)
                        if kind == "memory":
                            raise MemoryError()
                        log.error("job %s failed in the worker process:\n%s", job.title,
                                  msg.get("traceback", ""))
                        raise WorkerError(text)
            finally:
                if not finished:      # the queue stopped early (cancel): let the child finish
                    self._drain()

    def _drain(self, timeout: float = 30.0) -> None:
        """After an early stop: cancel the child's job and read its messages up to the end."""
        import time

        if self._conn is None:
            return
        self._cancel.set()
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if self._conn.poll(0.05):
                    if recv(self._conn).get("op") in ("result", "error"):
                        return
                elif not self._proc.is_alive():
                    break
        except Exception:  # noqa: BLE001
            log.warning("worker pipe broken:\n%s", traceback.format_exc())
        self._stop_child()  # stuck or broken: a fresh child next time

    def close_session(self, key: str) -> None:
        with self._pipe_lock:
            if self._proc is None or not self._proc.is_alive():
                return
            send(self._conn, {"op": "close_session", "key": key})
            while True:
                msg = recv(self._conn)
                if msg.get("op") == "closed":
                    return

    def shutdown(self, timeout: float | None = None) -> None:
        super().shutdown(timeout)
        with self._pipe_lock:
            self._stop_child(5.0 if timeout is None else max(1.0, timeout))


__all__ = ["ProcessBackend", "WorkerError"]
