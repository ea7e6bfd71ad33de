"""Errors the CLI commands raise (kept apart from the dispatcher so commands never import cli.py)."""

from __future__ import annotations


class CliError(Exception):
    """A user-facing error: printed without a traceback, exit status 2 (``{"ok": false, ...}``
    with ``--json``)."""


__all__ = ["CliError"]
