"""What the worker's client and server agree on: where the socket lives, how messages are framed,
and which settings must be equal for a forked command to behave as an in-process one.

Standard library only: the client imports this before anything heavy.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import stat
import struct
import sys
import tempfile
from pathlib import Path
from typing import Any

PROTOCOL = 1
#: environment variables read when torch / OpenMP / oneDNN load: a worker started with other values
#: would run the command differently, so the client runs it in-process instead
IMPORT_TIME_ENV = (
    "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "ONEDNN_MAX_CPU_ISA",
    "DNNL_MAX_CPU_ISA", "ONEDNN_DEFAULT_FPMATH_MODE", "CUDA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES",
    "PYTORCH_CUDA_ALLOC_CONF", "PYTORCH_ENABLE_MPS_FALLBACK", "LD_PRELOAD", "LD_LIBRARY_PATH",
    "PYTHONPATH", "PYTHONHOME", "PYTHONHASHSEED", "QT_QPA_PLATFORM",
)
_HEADER = struct.Struct("!I")
MAX_MESSAGE = 16 << 20   # an environment of a few KB; anything near this is not a client of ours


def code_stamp(folder: Path) -> str:
    """The newest modification time and the count of the package's .py files: an edit (a
    checkout, an upgrade in place) makes a running worker stale. ~250 stat calls, a few ms."""
    newest, count = 0, 0
    stack = [str(folder)]
    while stack:
        with os.scandir(stack.pop()) as it:
            for entry in it:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name != "__pycache__":
                        stack.append(entry.path)
                elif entry.name.endswith(".py"):
                    newest = max(newest, entry.stat().st_mtime_ns)
                    count += 1
    return f"{newest}:{count}"


def installation_key() -> dict[str, str]:
    """What identifies this installation and its code: a worker serves only clients with the same
    key (``code`` differs after the package's files change: the worker is then stale)."""
    import ganstudio
    from ganstudio import paths

    package = paths.PACKAGE_DIR
    return {"version": getattr(ganstudio, "__version__", "?"),
            "package": str(package),
            "python": str(Path(sys.executable).resolve()),
            "protocol": str(PROTOCOL),
            "code": code_stamp(package)}


#: the environment as this process started, before any import changed it (OpenCV's package, for
#: one, extends LD_LIBRARY_PATH when it loads): ganstudio.cli imports this module first
_ENV_AT_START = {k: os.environ[k] for k in IMPORT_TIME_ENV if k in os.environ}


def import_time_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """The import-time settings of ``env``, or of this process as it started."""
    if env is None:
        return dict(_ENV_AT_START)
    return {k: env[k] for k in IMPORT_TIME_ENV if k in env}


def _private_dir() -> Path:
    """A folder only this user can enter: $XDG_RUNTIME_DIR/ganstudio, else <tmp>/ganstudio-UID."""
    base = os.environ.get("XDG_RUNTIME_DIR")
    if base and os.path.isdir(base) and os.stat(base).st_uid == os.getuid():
        d = Path(base) / "ganstudio"
    else:
        d = Path(tempfile.gettempdir()) / f"ganstudio-{os.getuid()}"
    d.mkdir(mode=0o700, exist_ok=True)
    st = os.lstat(d)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise PermissionError(f"{d} is not a private folder of this user (mode {st.st_mode & 0o777:o})")
    return d


def socket_path() -> Path:
    """The worker socket of this installation (GANSTUDIO_WORKER_SOCKET overrides: tests)."""
    override = os.environ.get("GANSTUDIO_WORKER_SOCKET")
    if override:
        return Path(override)
    key = installation_key()
    digest = hashlib.sha256(f"{key['package']}\0{key['python']}".encode()).hexdigest()[:10]
    return _private_dir() / f"worker-{digest}.sock"


def supported() -> str | None:
    """None where the worker can run, else why not."""
    if not sys.platform.startswith("linux"):
        # macOS: fork() after torch / the Objective-C runtime / MPS is not safe; Windows has no fork
        return "the warm worker runs on Linux only"
    if not hasattr(socket, "AF_UNIX") or not hasattr(socket, "send_fds"):
        return "the warm worker needs Unix sockets with descriptor passing"
    if getattr(sys, "frozen", False):
        return "the desktop bundle starts its own process; the warm worker is for installed Python"
    return None


def send(sock: socket.socket, message: dict[str, Any], fds: list[int] | None = None) -> None:
    data = json.dumps(message).encode()
    payload = _HEADER.pack(len(data)) + data
    if fds:
        socket.send_fds(sock, [payload], fds)
    else:
        sock.sendall(payload)


def _recv_exact(sock: socket.socket, n: int, fds: list[int] | None) -> bytes:
    buf = b""
    while len(buf) < n:
        if fds is not None and not buf:
            chunk, got, _flags, _addr = socket.recv_fds(sock, n - len(buf), 8)
            fds.extend(got)
        else:
            chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("the other side closed the connection")
        buf += chunk
    return buf


def recv(sock: socket.socket, fds: list[int] | None = None) -> dict[str, Any]:
    """One message; descriptors passed with it are appended to ``fds`` (when given)."""
    (size,) = _HEADER.unpack(_recv_exact(sock, _HEADER.size, fds))
    if size > MAX_MESSAGE:
        raise ConnectionError(f"message of {size} bytes refused")
    message = json.loads(_recv_exact(sock, size, None))
    if not isinstance(message, dict):
        raise ConnectionError("malformed message")
    return message
