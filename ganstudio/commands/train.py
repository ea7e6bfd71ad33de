"""``ganstudio train ...``: train the built-in models and your own styles.

    ganstudio train inpaint --data DIR --out RUN_DIR [--resume] [--minutes N] [--holdout N] [--seed S]
    ganstudio train inpaint-export --run RUN_DIR -o FILE.safetensors [--half]
    ganstudio train <name> ...        one per ganstudio/train/<name>.py that defines register_cli

Discovery: every module ``ganstudio/train/<name>.py`` that defines ``register_cli(subparsers)``
adds its own subcommands there (``ganstudio train colorize``, ``train style``, ``train scene`` ...;
no list to edit). Its parsers set ``train_handler=fn`` with ``fn(args) -> int``; a ``ValueError``
or ``FileNotFoundError`` raised by the handler is a user error (exit status 2, message on stderr
or ``{"ok": false, "error": ...}`` with ``--json``). A module that fails to import is skipped
(its name is listed by ``ganstudio train --help``) so one broken trainer never breaks the CLI.

Only modules whose source contains ``def register_cli(`` are imported, and they must import torch
inside functions only (the CLI starts without torch).
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil

_BUILTIN = {"inpaint", "inpaint_masks", "data"}   # handled here / helpers without a CLI
discovery_errors: dict[str, str] = {}


def _discover_modules() -> list[str]:
    """Names of the train modules whose source defines ``register_cli`` (others - helpers,
    ``python -m`` scripts - are not even imported)."""
    from pathlib import Path

    from .. import train as train_pkg

    names = []
    for m in pkgutil.iter_modules(train_pkg.__path__):
        if m.name.startswith("_") or m.name in _BUILTIN or m.ispkg:
            continue
        try:
            src = (Path(m.module_finder.path) / f"{m.name}.py").read_text(encoding="utf-8")
        except (OSError, AttributeError):
            src = "def register_cli("   # unknown loader (frozen bundle): import and look
        if "def register_cli(" in src:
            names.append(m.name)
    return sorted(names)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("train", help="train a built-in model or your own style")
    sub = p.add_subparsers(dest="train_command", metavar="MODEL")
    sub.required = True

    q = sub.add_parser("inpaint", help="train the built-in inpainter (GSInpaint)")
    q.add_argument("--data", required=True, help="folder of training photos")
    q.add_argument("--out", required=True, help="run folder (checkpoints, log, holdout.json)")
    q.add_argument("--resume", action="store_true", help="continue from RUN_DIR/ckpt.pt")
    q.add_argument("--minutes", type=float, default=30.0, help="wall-clock budget of this session")
    q.add_argument("--steps", type=int, default=0, help="stop at this total step (0 = no limit)")
    q.add_argument("--holdout", type=int, default=7, help="photos held out for evaluation")
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--batch", type=int, default=8)
    q.add_argument("--patch", type=int, default=128)
    q.add_argument("--base", type=int, default=24, help="generator width")
    q.add_argument("--blocks", type=int, default=6, help="residual FFC blocks at 1/4 resolution")
    q.add_argument("--warmup-steps", type=int, default=1500,
                   help="reconstruction-only steps before the adversarial losses start")
    q.add_argument("--ckpt-minutes", type=float, default=3.0)
    q.add_argument("--log-every", type=int, default=50)
    q.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    q.add_argument("--device", default="auto", help="auto | cpu | cuda | mps")
    q.add_argument("--json", action="store_true")
    q.set_defaults(handler=run)

    e = sub.add_parser("inpaint-export", help="export a run's generator as safetensors")
    e.add_argument("--run", required=True)
    e.add_argument("-o", "--output", required=True)
    e.add_argument("--half", action="store_true", help="store fp16 weights")
    e.add_argument("--raw", action="store_true", help="export the raw generator, not the EMA")
    e.add_argument("--json", action="store_true")
    e.set_defaults(handler=run)

    for name in _discover_modules():
        try:
            mod = importlib.import_module(f"ganstudio.train.{name}")
        except Exception as exc:  # noqa: BLE001 - one broken trainer must not break the CLI
            discovery_errors[name] = f"{type(exc).__name__}: {exc}"
            continue
        reg = getattr(mod, "register_cli", None)
        if callable(reg):
            before = set(sub.choices)
            reg(sub)
            for cmd in set(sub.choices) - before:
                sub.choices[cmd].set_defaults(handler=run)
    if discovery_errors:
        p.epilog = "not available (import failed): " + ", ".join(sorted(discovery_errors))
    for sp in sub.choices.values():
        fill_help(sp)


#: help of the options every trainer shares (trainers may leave these out of their own parsers)
COMMON_HELP = {
    "--seed": "random seed (same seed, same data order and initial weights)",
    "--batch": "images per training step",
    "--patch": "side of the square training crops, in pixels",
    "--precision": "auto (bf16 where the CPU has native bf16), fp32 or bf16",
    "--ckpt-minutes": "minutes between checkpoints (a stopped run resumes from the last one)",
    "--log-every": "steps between log lines",
    "--preview-every": "steps between preview images",
    "--json": "print one JSON object at the end",
    "--run": "the run folder written by training (holds ckpt.pt)",
    "--output": "the .safetensors file to write",
    "--mid-blocks": "residual blocks in the middle of the generator",
    "--w-adv": "weight of the adversarial loss",
    "--method": "training method",
    "--lambda-nce": "weight of the PatchNCE (contrastive) loss",
}


def fill_help(parser: argparse.ArgumentParser) -> None:
    """Give every option of ``parser`` without a help text the shared one (COMMON_HELP)."""
    for action in parser._actions:
        if action.help is None:
            key = next((o for o in action.option_strings if o.startswith("--")), action.dest)
            if key in COMMON_HELP:
                action.help = COMMON_HELP[key]


def _device(name: str) -> str:
    if name != "auto":
        return name
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .errors import CliError

    handler = getattr(args, "train_handler", None)
    if handler is not None:
        try:
            return int(handler(args) or 0)
        except (ValueError, FileNotFoundError) as exc:
            raise CliError(str(exc)) from exc

    if args.train_command == "inpaint":
        from ..train.inpaint import TrainConfig, train

        if not Path(args.data).is_dir():
            raise CliError(f"--data {args.data} is not a folder")
        cfg = TrainConfig(
            data=args.data, out=args.out, minutes=args.minutes, steps=args.steps,
            holdout=args.holdout, seed=args.seed, batch=args.batch, patch=args.patch,
            base=args.base, n_blocks=args.blocks, warmup_steps=args.warmup_steps,
            ckpt_minutes=args.ckpt_minutes, log_every=args.log_every, threads=args.threads,
            device=_device(args.device))
        log = (lambda s: None) if args.json else (lambda s: print(s, flush=True))
        try:
            res = train(cfg, resume=args.resume, log=log)
        except ValueError as exc:
            raise CliError(str(exc)) from exc
        if args.json:
            print(json.dumps({"ok": True, **res}))
        return 0
    if args.train_command == "inpaint-export":
        from ..train.inpaint import export

        if not (Path(args.run) / "ckpt.pt").exists():
            raise CliError(f"no checkpoint in {args.run}")
        res = export(args.run, args.output, half=args.half, use_ema=not args.raw)
        print(json.dumps({"ok": True, **res}) if args.json else f"wrote {res['file']} ({res['bytes']} bytes)")
        return 0
    raise CliError(f"unknown model {args.train_command}")
