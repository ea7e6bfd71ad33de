"""User-facing errors of the model store and its downloader (messages say what to do)."""

from __future__ import annotations

from typing import Any


class StoreError(Exception):
    """User-facing model store error."""


class NotInstalledError(StoreError):
    pass


class DownloadError(StoreError):
    pass


class HashMismatchError(DownloadError):
    pass


class DownloadCancelled(StoreError):
    pass


class ArchiveError(StoreError):
    """An archive member is missing, unsafe (link, device, path traversal) or too large."""


def is_cancelled(cancel: Any) -> bool:
    """``cancel``: None, anything with a ``.cancelled`` attribute (CancelToken) or a callable."""
    if cancel is None:
        return False
    if callable(cancel) and not hasattr(cancel, "cancelled"):
        return bool(cancel())
    return bool(getattr(cancel, "cancelled", False))
