"""The warm worker: one process that has imported torch and the task modules, and forks a child
per command (see the package docstring for why and how).

Single-threaded on purpose: fork() from a process with other threads can leave locks held in the
child, so the server multiplexes its sockets with ``selectors`` in one thread and never runs a
torch operation itself (no OpenMP / oneDNN thread pool and no CUDA context exist before a fork;
each child creates its own).
"""

from __future__ import annotations

import atexit
import io
import os
import selectors
import signal
import socket
import struct
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import protocol

DEFAULT_IDLE_TIMEOUT_S = 15 * 60
_TICK_S = 0.1


def _log(text: str) -> None:
    print(f"[ganstudio worker {os.getpid()} {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr,
          flush=True)


def _peer_uid(conn: socket.socket) -> int | None:
    """The connecting process's user id (Linux SO_PEERCRED); None where the OS does not say."""
    opt = getattr(socket, "SO_PEERCRED", None)
    if opt is None:
        return None
    creds = conn.getsockopt(socket.SOL_SOCKET, opt, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return uid


def _exit_status(status: int) -> int:
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status)
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return 1


def _reopen_stdio(encodings: dict[str, str | None]) -> None:
    """After dup2 the descriptors are the client's; rebuild sys.std* so that buffering and
    isatty() follow the client's terminal or pipe, not the worker's log file."""
    def text(fd: int, mode: str, encoding: str | None) -> io.TextIOWrapper:
        tty = os.isatty(fd)
        raw = open(fd, mode + "b", buffering=0, closefd=False)  # noqa: SIM115 - lives as sys.std*
        buffered = io.BufferedWriter(raw) if mode == "w" else io.BufferedReader(raw)
        return io.TextIOWrapper(buffered, encoding=encoding or "utf-8", errors="backslashreplace"
                                if mode == "w" else "strict", line_buffering=tty and mode == "w",
                                write_through=fd == 2)

    sys.stdin = sys.__stdin__ = text(0, "r", None)
    sys.stdout = sys.__stdout__ = text(1, "w", encodings.get("stdout"))
    sys.stderr = sys.__stderr__ = text(2, "w", encodings.get("stderr"))


class WorkerServer:
    def __init__(self, dispatch: Callable[[list[str]], int], path: Path,
                 idle_timeout_s: float = DEFAULT_IDLE_TIMEOUT_S) -> None:
        self.dispatch = dispatch
        self.path = Path(path)
        self.idle_timeout_s = idle_timeout_s
        self.key = protocol.installation_key()
        self.env = protocol.import_time_env()
        self.started = time.time()
        self.last_activity = time.monotonic()
        self.served = 0
        self.jobs: dict[int, socket.socket] = {}     # child pid -> client connection
        self.stopping = False
        self.selector = selectors.DefaultSelector()
        self.listener: socket.socket | None = None

    # --- socket -----------------------------------------------------------------------------
    def bind(self) -> None:
        """Listen at ``path``: bound under a temporary name and renamed into place, so a client
        never sees a socket file nobody listens on yet; refuses when a live worker holds it."""
        from .client import request

        if self.path.exists():
            if request({"ping": True}, timeout=2.0) is not None:
                raise RuntimeError(f"a worker already listens at {self.path}")
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        tmp.unlink(missing_ok=True)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(tmp))
        os.chmod(tmp, 0o600)
        listener.listen(16)
        os.replace(tmp, self.path)
        listener.setblocking(False)
        self.listener = listener
        self.selector.register(listener, selectors.EVENT_READ, "accept")

    def close(self) -> None:
        if self.listener is not None:
            self.selector.unregister(self.listener)
            self.listener.close()
            self.listener = None
            try:   # only our own socket: another worker may have replaced it since
                if self.path.exists() and self.path.stat().st_ino == self._inode:
                    self.path.unlink()
            except (OSError, AttributeError):
                pass

    # --- main loop --------------------------------------------------------------------------
    def serve_forever(self) -> None:
        self.bind()
        self._inode = self.path.stat().st_ino
        signal.signal(signal.SIGTERM, lambda *_: setattr(self, "stopping", True))
        _log(f"ready at {self.path} (idle timeout {self.idle_timeout_s:.0f} s)")
        try:
            while True:
                for key, _events in self.selector.select(_TICK_S):
                    if key.data == "accept":
                        self._accept()
                    else:
                        self._from_client(key.fileobj, key.data)
                self._reap()
                if self.stopping and self.listener is not None:
                    self.close()
                if self.stopping and not self.jobs:
                    break
                if not self.jobs and time.monotonic() - self.last_activity > self.idle_timeout_s:
                    _log("idle timeout: exiting")
                    break
        finally:
            self.close()
            for conn in list(self.jobs.values()):
                conn.close()

    def _accept(self) -> None:
        assert self.listener is not None
        try:
            conn, _ = self.listener.accept()
        except BlockingIOError:
            return
        self.last_activity = time.monotonic()
        conn.settimeout(5.0)
        fds: list[int] = []
        try:
            uid = _peer_uid(conn)
            if uid is not None and uid != os.getuid():
                raise ConnectionError(f"connection from user {uid} refused")
            message = protocol.recv(conn, fds)
            self._handle(conn, message, fds)
        except (OSError, ConnectionError, ValueError) as exc:
            _log(f"bad request: {exc}")
            conn.close()
        finally:
            for fd in fds:
                try:
                    os.close(fd)
                except OSError:
                    pass

    def _status(self) -> dict[str, Any]:
        return {"pid": os.getpid(), "uptime_s": round(time.time() - self.started, 1),
                "served": self.served, "running": len(self.jobs), "socket": str(self.path),
                "idle_timeout_s": self.idle_timeout_s, "key": self.key, "env": self.env}

    def _handle(self, conn: socket.socket, message: dict[str, Any], fds: list[int]) -> None:
        if message.get("ping"):
            protocol.send(conn, {"ok": True, **self._status()})
            conn.close()
            return
        if message.get("stop"):
            self.stopping = True
            protocol.send(conn, {"ok": True, "stopping": True, "running": len(self.jobs)})
            conn.close()
            return
        argv = message.get("run")
        if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
            raise ValueError("no command")
        reason = None
        if self.stopping:
            reason = "the worker is stopping"
        elif isinstance(message.get("key"), dict) and {**message["key"], "code": ""} == {**self.key, "code": ""} \
                and message["key"].get("code") != self.key.get("code"):
            reason = "the installation's code changed since the worker started: it exits"
            self.stopping = True
        elif message.get("key") != self.key:
            reason = "another installation or version"
        elif protocol.import_time_env(message.get("env") or {}) != self.env:
            reason = "other import-time settings (threads, ISA, devices)"
        elif len(fds) != 3:
            reason = "the client's terminal was not passed"
        if reason:
            protocol.send(conn, {"accepted": False, "reason": reason})
            conn.close()
            return
        protocol.send(conn, {"accepted": True, "pid": os.getpid()})
        pid = os.fork()
        if pid == 0:   # pragma: no cover - runs in the child (tested end to end)
            self._child(conn, argv, message, fds)
        self.served += 1
        conn.setblocking(False)
        self.jobs[pid] = conn
        self.selector.register(conn, selectors.EVENT_READ, pid)

    def _child(self, conn: socket.socket, argv: list[str], message: dict[str, Any],
               fds: list[int]) -> None:
        code = 1
        try:
            for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD):
                signal.signal(sig, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            self.selector.close()
            if self.listener is not None:
                self.listener.close()
            for other in self.jobs.values():
                other.close()
            conn.close()
            for target, fd in enumerate(fds):
                os.dup2(fd, target)
                os.close(fd)
            fds.clear()
            _reopen_stdio(message.get("encoding") or {})
            os.environ.clear()
            os.environ.update({str(k): str(v) for k, v in (message.get("env") or {}).items()})
            os.chdir(message.get("cwd") or "/")
            sys.argv = [sys.argv[0], *argv]
            result = self.dispatch(argv)
            code = int(result or 0)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            if not isinstance(exc.code, int) and exc.code is not None:
                print(exc.code, file=sys.stderr)
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            code = 130
        except BaseException:  # noqa: BLE001 - report, as an in-process run would
            traceback.print_exc()
            code = 1
        finally:
            try:
                atexit._run_exitfuncs()   # the command's own (the server registers none)
            finally:
                for stream in (sys.stdout, sys.stderr):
                    try:
                        stream.flush()
                    except Exception:  # noqa: BLE001
                        pass
                os._exit(code)

    def _from_client(self, conn: Any, pid: int) -> None:
        try:
            message = protocol.recv(conn)
        except BlockingIOError:
            return
        except (OSError, ConnectionError, ValueError):
            # the client went away (terminal closed, killed): stop its command like a hang-up
            self.selector.unregister(conn)
            self._signal(pid, signal.SIGHUP)
            return
        sig = message.get("signal")
        if isinstance(sig, int) and sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            self._signal(pid, sig)

    @staticmethod
    def _signal(pid: int, sig: int) -> None:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass

    def _reap(self) -> None:
        while self.jobs:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            conn = self.jobs.pop(pid, None)
            self.last_activity = time.monotonic()
            if conn is None:
                continue
            try:
                self.selector.unregister(conn)
            except (KeyError, ValueError):
                pass
            try:
                conn.setblocking(True)
                protocol.send(conn, {"exit": _exit_status(status)})
            except OSError:
                pass
            conn.close()


def serve(dispatch: Callable[[list[str]], int], preload: Callable[[], None] | None = None, *,
          idle_timeout_s: float = DEFAULT_IDLE_TIMEOUT_S, path: Path | None = None) -> int:
    why = protocol.supported()
    if why:
        print(f"ganstudio worker: {why}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    if preload is not None:
        preload()
    _log(f"preloaded in {time.perf_counter() - t0:.2f} s")
    server = WorkerServer(dispatch, path or protocol.socket_path(), idle_timeout_s)
    try:
        server.serve_forever()
    except RuntimeError as exc:
        print(f"ganstudio worker: {exc}", file=sys.stderr)
        return 2
    return 0
