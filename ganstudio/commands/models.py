"""`ganstudio models list|download|import|verify|remove`: the model catalog and the local store."""

from __future__ import annotations

import json
import sys
from typing import Any


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "models", help="list, download, import, verify or remove models",
        description="Manage the models GAN Studio uses: the catalog (models/catalog/*.toml) and the "
                    "per-user model cache. Offline models (from installed packages) are converted "
                    "on first use; `download` converts them right away.")
    sub = p.add_subparsers(dest="models_command", metavar="ACTION", required=True)

    def common(sp):
        sp.add_argument("--json", action="store_true", help="print one JSON object")
        return sp

    ls = common(sub.add_parser("list", help="list known and installed models"))
    ls.add_argument("--task", help="only models of this task (e.g. super_resolution)")
    ls.add_argument("--installed", action="store_true", help="only installed models")
    dl = common(sub.add_parser("download", help="download (or convert) models into the cache"))
    dl.add_argument("ids", nargs="+", metavar="ID",
                    help="model ids to install (see `ganstudio models list`)")
    dl.add_argument("--retries", type=int, default=3,
                    help="attempts after a failed or stalled connection (default 3)")
    dl.add_argument("--timeout", type=float, default=30.0, help="seconds without data before a retry")
    im = common(sub.add_parser("import", help="install a local weights file"))
    im.add_argument("file", help="the weights file (.safetensors, .pth, .ckpt, .zip ...) "
                                 "downloaded elsewhere")
    im.add_argument("--id", help="catalog id the file is for (checked), or a new id; "
                                 "default user.<file name>")
    ve = common(sub.add_parser("verify", help="check installed files against their hashes"))
    ve.add_argument("ids", nargs="*", metavar="ID", help="default: every installed model")
    rm = common(sub.add_parser("remove", help="delete models from the cache"))
    rm.add_argument("ids", nargs="+", metavar="ID", help="model ids to delete from the cache")
    p.set_defaults(handler=run)


def _human(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return str(n)


def run(args: Any) -> int:
    from .errors import CliError
    from ..models.catalog import CatalogError
    from ..models.safeload import ModelLoadError
    from ..models.store import StoreError, default_store

    try:
        store = default_store()
        action = args.models_command
        return {"list": _list, "download": _download, "import": _import, "verify": _verify,
                "remove": _remove}[action](store, args)
    except (StoreError, ModelLoadError, CatalogError) as exc:
        raise CliError(str(exc)) from None
    except KeyError as exc:
        raise CliError(str(exc).strip('"')) from None


def _list(store, args) -> int:
    rows = store.list(task=args.task)
    if args.installed:
        rows = [r for r in rows if r.installed]
    if args.json:
        print(json.dumps({"ok": True, "cache": str(store.root), "models": [r.to_dict() for r in rows]},
                         indent=1))
        return 0
    print(f"model cache: {store.root}")
    w = max([len(r.entry.id) for r in rows] + [2])
    print(f"{'ID':<{w}}  {'TASK':<17} {'STATUS':<12} {'SIZE':>9}  LICENCE")
    for r in rows:
        e = r.entry
        status = "installed" if r.installed else ("offline" if r.available_offline else "download")
        lic = e.licence + ("  NON-COMMERCIAL" if e.non_commercial else "")
        known = r.size_on_disk if r.installed else (e.size or sum(f.size for f in e.files))
        size = _human(known) if known else "unknown"
        print(f"{e.id:<{w}}  {e.task:<17} {status:<12} {size:>9}  {lic}")
    return 0


def _bar(desc: str, quiet: bool):
    from tqdm import tqdm

    bar = tqdm(total=0, unit="B", unit_scale=True, desc=desc, file=sys.stderr, disable=quiet,
               leave=False)

    def cb(done: int, total: int) -> None:
        if total and bar.total != total:
            bar.total = total
        bar.n = done
        bar.refresh()
    return bar, cb


def _download(store, args) -> int:
    from ..models.store import DownloadCancelled, StoreError

    results, ok = [], True
    for mid in args.ids:
        entry = store.entry(mid)
        bar, cb = _bar(mid, quiet=False)
        try:
            p = store.download(mid, progress=cb, retries=args.retries, timeout=args.timeout)
            results.append({"id": mid, "ok": True, "path": str(p), "size": p.stat().st_size,
                            "kind": entry.kind})
            if not args.json:
                what = "converted" if entry.kind == "package" else "installed"
                print(f"{mid}: {what} -> {p}")
        except (StoreError, DownloadCancelled) as exc:
            ok = False
            results.append({"id": mid, "ok": False, "error": str(exc)})
            if not args.json:
                print(f"{mid}: error: {exc}", file=sys.stderr)
        finally:
            bar.close()
    if args.json:
        print(json.dumps({"ok": ok, "models": results}, indent=1))
    return 0 if ok else 1


def _import(store, args) -> int:
    mid = store.import_file(args.file, args.id)
    st = store.status(mid)
    if args.json:
        print(json.dumps({"ok": True, "id": mid, "path": str(st.path), "task": st.entry.task,
                          "arch": st.entry.arch}, indent=1))
    else:
        print(f"imported {args.file} as {mid} ({st.entry.task}, {st.entry.arch}) -> {st.path}")
    return 0


def _verify(store, args) -> int:
    ids = args.ids or store.installed()
    res = [store.verify(i) for i in ids]
    ok = all(r.ok for r in res)
    if args.json:
        print(json.dumps({"ok": ok, "models": [r.to_dict() for r in res]}, indent=1))
    else:
        if not res:
            print("no models installed")
        for r in res:
            print(f"{r.id}: {'OK' if r.ok else 'FAILED'}: {r.message}")
    return 0 if ok else 1


def _remove(store, args) -> int:
    out = []
    for mid in args.ids:
        store.entry(mid)  # unknown id -> error
        out.append({"id": mid, "removed": store.remove(mid)})
    if args.json:
        print(json.dumps({"ok": True, "models": out}, indent=1))
    else:
        for r in out:
            print(f"{r['id']}: {'removed' if r['removed'] else 'was not installed'}")
    return 0
