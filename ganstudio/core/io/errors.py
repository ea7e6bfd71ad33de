"""Errors raised by the file layer. Every message names the file and reads well in a dialog.

Hierarchy::

    ImageFileError                 anything that went wrong reading or writing a file
      UnsupportedFormatError       not a format we read / write
      CorruptFileError             empty, truncated or undecodable data
      ImageTooLargeError           over the pixel limit (decompression-bomb guard); override named
      ProjectFileError             an .ora project that is broken or unsafe
      FileSaveError                the write failed (disk full, permission denied); old file kept
"""

from __future__ import annotations

import os
from pathlib import Path


def _show(path: str | os.PathLike[str] | None) -> str:
    return "the file" if path is None else f"“{Path(path).name}”"


class ImageFileError(Exception):
    """Base class. ``path`` is the file concerned (may be None for in-memory data)."""

    def __init__(self, message: str, path: str | os.PathLike[str] | None = None) -> None:
        super().__init__(message)
        self.path = None if path is None else Path(path)


class UnsupportedFormatError(ImageFileError):
    pass


class CorruptFileError(ImageFileError):
    pass


class ImageTooLargeError(ImageFileError):
    """The image declares more pixels than the limit. ``override`` names the way to open it anyway."""

    def __init__(self, path: str | os.PathLike[str] | None, width: int, height: int, limit: int,
                 override: str = "allow_huge=True") -> None:
        self.width, self.height, self.limit, self.override = int(width), int(height), int(limit), override
        self.pixels = self.width * self.height
        super().__init__(
            f"{_show(path)} is {self.width}x{self.height} = {self.pixels / 1e6:.1f} megapixels, over the "
            f"limit of {limit / 1e6:.0f} megapixels that protects against decompression bombs. "
            f"If you trust this file, open it with {override}.",
            path,
        )


class ProjectFileError(ImageFileError):
    pass


class FileSaveError(ImageFileError):
    """Saving failed; the previous file (if any) is unchanged. ``errno`` from the OSError."""

    def __init__(self, message: str, path: str | os.PathLike[str] | None = None,
                 errno: int | None = None) -> None:
        super().__init__(message, path)
        self.errno = errno


def save_error(path: str | os.PathLike[str], exc: OSError) -> FileSaveError:
    reason = exc.strerror or str(exc)
    return FileSaveError(f"Could not save {_show(path)} in {Path(path).parent}: {reason}. "
                         "The previous version of the file, if any, is unchanged.", path, exc.errno)


__all__ = ["ImageFileError", "UnsupportedFormatError", "CorruptFileError", "ImageTooLargeError",
           "ProjectFileError", "FileSaveError", "save_error"]
