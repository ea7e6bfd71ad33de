"""Run a command in the warm worker if one is up; ``None`` means "run it in-process yourself".

Standard library only, so that asking costs a few milliseconds when no worker runs.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
from typing import Any

from . import protocol

CONNECT_TIMEOUT_S = 2.0


def _connect(path: str, timeout: float = CONNECT_TIMEOUT_S) -> socket.socket | None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(path)
    except OSError:
        sock.close()
        return None
    return sock


def disabled() -> bool:
    return os.environ.get("GANSTUDIO_NO_WORKER", "").strip().lower() not in ("", "0", "false", "no")


def request(message: dict[str, Any], timeout: float = 10.0) -> dict[str, Any] | None:
    """A control message (ping, stop) to the worker; None when no worker answers."""
    if protocol.supported() is not None:
        return None
    try:
        path = str(protocol.socket_path())
    except OSError:
        return None
    sock = _connect(path, timeout)
    if sock is None:
        return None
    with sock:
        try:
            protocol.send(sock, {**message, "key": protocol.installation_key()})
            return protocol.recv(sock)
        except (OSError, ConnectionError, ValueError):
            return None


def run(argv: list[str]) -> int | None:
    """The command's exit status, run by the worker on this process's terminal; None if no worker
    took it (not running, another installation, other import-time settings, disabled)."""
    if disabled() or protocol.supported() is not None:
        return None
    try:
        path = str(protocol.socket_path())
    except OSError:
        return None
    if not os.path.exists(path):
        return None
    sock = _connect(path)
    if sock is None:
        return None
    with sock:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        message = {"run": list(argv), "cwd": os.getcwd(), "env": dict(os.environ),
                   "key": protocol.installation_key(),
                   "encoding": {"stdout": getattr(sys.stdout, "encoding", None),
                                "stderr": getattr(sys.stderr, "encoding", None)}}
        try:
            protocol.send(sock, message, fds=[0, 1, 2])
            reply = protocol.recv(sock)
        except (OSError, ConnectionError, ValueError):
            return None
        if not reply.get("accepted"):
            print(f"ganstudio: the warm worker declined ({reply.get('reason', 'no reason given')}); "
                  "running in-process", file=sys.stderr)
            return None
        # From here the command runs: its result is the worker's, never a second in-process run.
        sock.settimeout(None)
        previous = {}

        def forward(signum: int, _frame: Any) -> None:
            try:
                protocol.send(sock, {"signal": signum})
            except OSError:
                pass

        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            try:
                previous[sig] = signal.signal(sig, forward)
            except (ValueError, OSError):   # not the main thread
                pass
        try:
            while True:
                try:
                    reply = protocol.recv(sock)
                except InterruptedError:
                    continue
                except (OSError, ConnectionError, ValueError):
                    print("ganstudio: the warm worker went away while running the command",
                          file=sys.stderr)
                    return 1
                if "exit" in reply:
                    return int(reply["exit"])
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
