"""QSettings in an INI file under the per-user data folder (tests get a temporary one)."""

from __future__ import annotations

from PySide6.QtCore import QSettings

from ganstudio import paths


def settings() -> QSettings:
    path = paths.user_data_dir() / "ganstudio.ini"
    path.parent.mkdir(parents=True, exist_ok=True)
    return QSettings(str(path), QSettings.Format.IniFormat)


def recent_files(limit: int = 10) -> list[str]:
    value = settings().value("recent_files", [])
    if isinstance(value, str):
        value = [value]
    return [str(v) for v in (value or [])][:limit]


def add_recent_file(path: str, limit: int = 10) -> list[str]:
    files = [path] + [f for f in recent_files(limit) if f != path]
    files = files[:limit]
    s = settings()
    s.setValue("recent_files", files)
    s.sync()
    return files


def clear_recent_files() -> None:
    s = settings()
    s.setValue("recent_files", [])
    s.sync()
