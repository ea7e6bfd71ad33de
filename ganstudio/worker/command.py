"""``ganstudio worker start|stop|status|serve``: the warm worker's own subcommand.

It lives beside the dispatcher (``ganstudio.cli`` adds it) rather than in ``ganstudio.commands``
because the worker runs the dispatcher itself: the commands layer never imports the CLI.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable

from . import client, protocol
from .server import DEFAULT_IDLE_TIMEOUT_S, serve

START_TIMEOUT_S = 180.0


def add_parser(subparsers: argparse._SubParsersAction, dispatch: Callable[[list[str]], int],
               preload: Callable[[], None]) -> None:
    p = subparsers.add_parser(
        "worker", help="keep a warm process so that commands start in a fraction of a second",
        description="A warm worker has torch and the task modules imported; while it runs, every "
                    "`ganstudio COMMAND` (same installation, same user) is forked from it instead of "
                    "importing torch again. It exits after --idle-timeout minutes without a command. "
                    "GANSTUDIO_NO_WORKER=1 runs a command in-process anyway. Linux only.")
    sub = p.add_subparsers(dest="worker_command", metavar="ACTION")
    sub.required = True
    idle_help = f"minutes without a command before the worker exits (default {DEFAULT_IDLE_TIMEOUT_S // 60})"
    start = sub.add_parser("start", help="start the worker in the background and wait until it is ready")
    start.add_argument("--idle-timeout", type=float, default=DEFAULT_IDLE_TIMEOUT_S / 60,
                       metavar="MINUTES", help=idle_help)
    start.add_argument("--json", action="store_true", help="print the result as JSON")
    stop = sub.add_parser("stop", help="stop the worker (running commands finish first)")
    stop.add_argument("--json", action="store_true", help="print the result as JSON")
    status = sub.add_parser("status", help="is a worker running? pid, uptime, commands served")
    status.add_argument("--json", action="store_true", help="print the result as JSON")
    fg = sub.add_parser("serve", help="run the worker in the foreground (what `start` runs)")
    fg.add_argument("--idle-timeout", type=float, default=DEFAULT_IDLE_TIMEOUT_S / 60,
                    metavar="MINUTES", help=idle_help)
    p.set_defaults(handler=lambda args: run(args, dispatch, preload))


def _log_path():
    from ganstudio import paths

    folder = paths.user_cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return folder / "worker.log"


def _print(args: argparse.Namespace, data: dict, text: str) -> None:
    print(json.dumps(data) if getattr(args, "json", False) else text)


def _minutes(value: float) -> float:
    if not value > 0:
        raise ValueError("--idle-timeout must be more than 0 minutes")
    return value * 60


def run(args: argparse.Namespace, dispatch: Callable[[list[str]], int],
        preload: Callable[[], None]) -> int:
    from ganstudio.commands.errors import CliError

    action = args.worker_command
    if action in ("start", "serve"):
        why = protocol.supported()
        if why:
            raise CliError(why)
        try:
            idle = _minutes(args.idle_timeout)
        except ValueError as exc:
            raise CliError(str(exc)) from exc
        if action == "serve":
            return serve(dispatch, preload, idle_timeout_s=idle)
        return _start(args, idle)
    if action == "stop":
        reply = client.request({"stop": True})
        if reply is None:
            _print(args, {"ok": True, "worker": False}, "no worker is running")
            return 0
        _print(args, {"ok": True, "worker": True, "stopping": True, "running": reply.get("running", 0)},
               "worker stopping" + (f" after {reply['running']} running command(s)"
                                    if reply.get("running") else ""))
        return 0
    reply = client.request({"ping": True})
    if reply is None:
        _print(args, {"ok": True, "worker": False}, "no worker is running")
        return 1 if not getattr(args, "json", False) else 0
    _print(args, {"ok": True, "worker": True, **{k: reply[k] for k in (
        "pid", "uptime_s", "served", "running", "socket", "idle_timeout_s") if k in reply}},
        f"worker {reply['pid']}: up {reply['uptime_s']:.0f} s, {reply['served']} command(s) served, "
        f"{reply['running']} running, exits after {reply['idle_timeout_s'] / 60:g} min idle\n"
        f"socket {reply['socket']}")
    return 0


def _start(args: argparse.Namespace, idle_s: float) -> int:
    from ganstudio.commands.errors import CliError

    reply = client.request({"ping": True})
    if reply is not None:
        _print(args, {"ok": True, "already_running": True, "pid": reply["pid"]},
               f"a worker is already running (pid {reply['pid']})")
        return 0
    log = _log_path()
    # the worker must start with this process's environment as it was at start-up, not as the
    # imports since (OpenCV extends LD_LIBRARY_PATH) left it, or no client would match it
    env = {k: v for k, v in os.environ.items() if k not in protocol.IMPORT_TIME_ENV}
    env.update(protocol.import_time_env())
    env["GANSTUDIO_NO_WORKER"] = "1"
    t0 = time.perf_counter()
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ganstudio", "worker", "serve", "--idle-timeout", str(idle_s / 60)],
            stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True,
            env=env, close_fds=True)
    while time.perf_counter() - t0 < START_TIMEOUT_S:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace").splitlines()[-5:]
            raise CliError("the worker did not start:\n  " + "\n  ".join(tail))
        reply = client.request({"ping": True}, timeout=1.0)
        if reply is not None and reply.get("pid") == proc.pid:
            _print(args, {"ok": True, "pid": proc.pid, "ready_s": round(time.perf_counter() - t0, 2),
                          "socket": reply["socket"], "log": str(log)},
                   f"worker ready (pid {proc.pid}, {time.perf_counter() - t0:.1f} s); commands now "
                   f"start warm; it exits after {idle_s / 60:g} min idle (log: {log})")
            return 0
        time.sleep(0.1)
    proc.terminate()
    raise CliError(f"the worker was not ready after {START_TIMEOUT_S:.0f} s (log: {log})")
