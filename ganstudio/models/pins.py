"""Trust on first use for files whose hash the catalog has not verified.

A catalog file without a real ``sha256`` (plain-HTTP mirrors, Google Drive) is *unverified*: the
store records the sha256 it saw at the first download here (``<store root>/pins.json``, kept when
the model is removed) and refuses a later download or import of that file that differs. Forgetting
the pin (:meth:`Pins.forget`) accepts a changed upstream file deliberately. No torch.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable
from pathlib import Path

from .catalog import ModelFile

FILENAME = "pins.json"


def pin_key(f: ModelFile) -> str:
    """What identifies a file: its source (Drive id or URL) and its name."""
    return (f"gdrive:{f.gdrive}" if f.gdrive else f.url) + f"#{f.name}"


class Pins:
    def __init__(self, root: str | Path) -> None:
        self.path = Path(root) / FILENAME
        self._lock = threading.Lock()

    def all(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, f: ModelFile) -> str:
        """The pinned sha256 of an unverified file ("" for verified files or none yet)."""
        if f.hash_verified:
            return ""
        return str(self.all().get(pin_key(f), ""))

    def set(self, f: ModelFile, sha: str) -> None:
        if f.hash_verified:
            return
        with self._lock:
            pins = self.all()
            if pins.get(pin_key(f)) == sha:
                return
            pins[pin_key(f)] = sha
            self._write(pins)

    def forget(self, files: Iterable[ModelFile]) -> int:
        with self._lock:
            pins = self.all()
            n = sum(1 for f in files if pins.pop(pin_key(f), None) is not None)
            if n:
                self._write(pins)
        return n

    def _write(self, pins: dict[str, str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(pins, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.path)
