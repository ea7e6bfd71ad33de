"""`ganstudio` entry point: no arguments (or files) opens the window; subcommands run in batch."""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys

from .worker import protocol as _worker_protocol  # noqa: F401 - first: notes the start-up environment
from . import __version__  # noqa: I001
from .commands import command_modules
from .commands.errors import CliError  # re-exported: ``from ganstudio.cli import CliError`` still works

log = logging.getLogger(__name__)

__all__ = ["CliError", "build_parser", "entry", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ganstudio",
        description="GAN Studio: a desktop image editor with local GAN tools. "
                    "Without a command, opens the window (on FILE... if given).",
    )
    parser.add_argument("--version", action="version", version=f"ganstudio {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in command_modules():  # every module of ganstudio/commands (no list to edit)
        try:
            module = importlib.import_module(f"ganstudio.commands.{name}")
        except Exception as exc:  # noqa: BLE001 - a broken command must not take the CLI down
            log.warning("command %s is unavailable: %s: %s", name, type(exc).__name__, exc)
            continue
        register = getattr(module, "register", None)
        if callable(register):
            register(sub)
    from .worker.command import add_parser as add_worker_parser

    add_worker_parser(sub, main, preload)
    return parser


_parser: tuple[tuple[str, ...], argparse.ArgumentParser] | None = None


def _cached_parser() -> argparse.ArgumentParser:
    """One parser per set of command modules: the warm worker builds it once and every forked
    command reuses it; a command module added since (a plug-in, a test) rebuilds it."""
    global _parser
    modules = tuple(command_modules())
    if _parser is None or _parser[0] != modules:
        _parser = (modules, build_parser())
    return _parser[1]


def preload() -> None:
    """What the warm worker imports before it forks commands: torch, every command, task and
    network module. Imports only: no torch operation runs here (no thread pool, no CUDA context
    may exist before fork)."""
    import torch  # noqa: F401

    from .archs import registry as archs
    from .models import loader  # noqa: F401
    from .tasks import device, registry, tiling  # noqa: F401

    _cached_parser()
    registry.discover()
    archs.discover()


def _open_window(files: list[str]) -> int:
    from .ui.app import run_app  # Qt only when the window is wanted

    return run_app(files)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _cached_parser()
    known = set(parser._subparsers._group_actions[0].choices) if parser._subparsers else set()  # type: ignore[union-attr]
    if not argv or argv[0] == "--sample" or (argv[0] not in known and not argv[0].startswith("-")):
        return _open_window(argv)
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except CliError as exc:
        if getattr(args, "json", False):
            print(json.dumps({"ok": False, "error": str(exc)}))
        else:
            print(f"ganstudio {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def entry() -> None:
    argv = sys.argv[1:]
    if argv and argv[0] != "worker" and argv[0] in command_modules():
        from .worker import client

        code = client.run(argv)   # None: no warm worker took it
        if code is not None:
            sys.exit(code)
    sys.exit(main())
