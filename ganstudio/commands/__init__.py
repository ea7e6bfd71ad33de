"""CLI subcommands. Each module defines ``register(subparsers)`` and a handler ``run(args) -> int``.

Modules must import cheaply (no torch at import time): heavy imports go inside ``run``.
"""

COMMAND_MODULES = [
    "info", "convert", "models", "upscale", "inpaint", "train",
]
