"""`ganstudio tasks [--json]`: the registered tasks (ganstudio.tasks.registry), their default
models, window UI and CLI command."""

from __future__ import annotations

import json
from typing import Any


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("tasks", help="list the GAN tasks this installation knows",
                              description="List the registered tasks (one entry per task).")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=run)


def run(args: Any) -> int:
    from ganstudio.tasks.registry import all_tasks

    rows = [{"name": s.name, "title": s.title, "request": s.request_type.__name__,
             "default_models": list(s.default_models), "session": s.session is not None,
             "ui": s.ui, "cli": s.cli, "description": s.description} for s in all_tasks()]
    if args.json:
        print(json.dumps({"ok": True, "tasks": rows}))
        return 0
    for r in rows:
        cmd = r["cli"].rsplit(".", 1)[-1] if r["cli"] else "-"
        print(f"{r['name']:<20} {r['title']:<26} models: {', '.join(r['default_models']) or '-'}"
              f"  (command: {cmd})")
    return 0
