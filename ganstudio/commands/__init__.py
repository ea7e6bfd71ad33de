"""CLI subcommands. Each module defines ``register(subparsers)`` and a handler ``run(args) -> int``.

Modules must import cheaply (no torch at import time): heavy imports go inside ``run``.
:func:`command_modules` finds them by themselves (pkgutil): a new command is a new module here,
no list to edit. User errors raise :class:`ganstudio.commands.errors.CliError`.
"""

from __future__ import annotations

import pkgutil

#: modules of this package that are not commands
NOT_COMMANDS = frozenset({"errors"})


def command_modules() -> list[str]:
    """Names of the command modules (``ganstudio.commands.<name>``), sorted."""
    return sorted(info.name for info in pkgutil.iter_modules(__path__)
                  if not info.ispkg and not info.name.startswith("_") and info.name not in NOT_COMMANDS)


def __getattr__(name: str):  # noqa: ANN202 - backward compatibility for COMMAND_MODULES
    if name == "COMMAND_MODULES":
        return command_modules()
    raise AttributeError(name)
