"""The child side of ProcessBackend: receives serialised jobs over a pipe, runs them with the task
registry (jobs/execute.py), sends Progress and the Result (or the error) back. Sessions live here
between jobs. Started with the "spawn" method: nothing of the parent's memory is inherited, the
job arrives as data only."""

from __future__ import annotations

import struct
import traceback
from typing import Any

from . import serialize


def send(conn: Any, obj: Any) -> None:
    """One message: a 4-byte buffer count + the JSON header, then each array buffer uncopied."""
    header, buffers = serialize.pack(obj)
    conn.send_bytes(struct.pack("<I", len(buffers)) + header)
    for b in buffers:
        conn.send_bytes(b)


def recv(conn: Any) -> Any:
    data = conn.recv_bytes()
    (n,) = struct.unpack("<I", data[:4])
    buffers = [conn.recv_bytes() for _ in range(n)]
    return serialize.unpack(data[4:], buffers)


class _EventToken:
    """A CancelToken backed by a multiprocessing Event shared with the parent."""

    def __init__(self, event: Any) -> None:
        self._event = event

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            from ganstudio.tasks.base import Cancelled

            raise Cancelled()


def main(conn: Any, cancel_event: Any) -> None:  # pragma: no cover - runs in the child (tested end to end)
    from ganstudio.tasks.base import Cancelled, Progress, TaskError

    from .execute import run_job
    from .job import Job, progress_to_dict, result_to_dict

    sessions: dict[str, Any] = {}
    while True:
        try:
            msg = recv(conn)
        except (EOFError, OSError):
            break
        op = msg.get("op")
        if op == "quit":
            break
        if op == "close_session":
            s = sessions.pop(str(msg.get("key")), None)
            if s is not None:
                try:
                    s.close()
                except Exception:  # noqa: BLE001
                    pass
            send(conn, {"op": "closed"})
            continue
        if op != "run":
            send(conn, {"op": "error", "kind": "crash", "message": f"unknown op {op!r}"})
            continue
        try:
            job = Job.from_dict(msg["job"])
            job.ctx.cancel = _EventToken(cancel_event)  # type: ignore[assignment]
            gen = run_job(job, sessions)
            while True:
                try:
                    p = next(gen)
                except StopIteration as stop:
                    result = stop.value
                    break
                if isinstance(p, Progress):
                    send(conn, {"op": "progress", "progress": progress_to_dict(p)})
                job.ctx.check_cancelled()
            send(conn, {"op": "result", "result": result_to_dict(result)})
        except Cancelled:
            send(conn, {"op": "error", "kind": "cancelled", "message": ""})
        except TaskError as exc:
            send(conn, {"op": "error", "kind": "task", "message": str(exc)})
        except MemoryError:
            send(conn, {"op": "error", "kind": "memory", "message": ""})
        except Exception as exc:  # noqa: BLE001 - sent to the parent, shown to the user
            send(conn, {"op": "error", "kind": "crash", "message": f"{type(exc).__name__}: {exc}",
                        "traceback": traceback.format_exc()})
    try:
        conn.close()
    except Exception:  # noqa: BLE001
        pass
