"""File formats: flat images (image_io), OpenRaster projects (ora), atomic saves, errors.

The UI opens anything with :func:`open_document` (projects and images alike), saves projects with
:func:`save_ora` and exports with :func:`export_image`. Every write is atomic.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from .atomic import atomic_write
from .errors import (
    CorruptFileError,
    FileSaveError,
    ImageFileError,
    ImageTooLargeError,
    ProjectFileError,
    UnsupportedFormatError,
)
from .image_io import (
    EXTENSIONS,
    MAX_PIXELS,
    READ_FORMATS,
    WRITE_FORMATS,
    export_image,
    open_image,
    read_image,
    read_image_array,
)
from .ora import is_ora, load_ora, save_ora

if TYPE_CHECKING:
    from ..document import Document

#: file-dialog filters
OPEN_FILTER = "Images and projects (*.ora *.png *.jpg *.jpeg *.webp *.tif *.tiff *.bmp)"
PROJECT_EXTENSION = ".ora"


def open_document(path: str | os.PathLike[str], *, allow_huge: bool = False) -> Document:
    """Open an .ora project (detected by content) or a flat image as a Document."""
    if is_ora(path):
        return load_ora(path, allow_huge=allow_huge)
    return open_image(path, allow_huge=allow_huge)


def supported_formats() -> dict[str, list[str]]:
    """{"read": [...], "write": [...], "project": ["ORA"], "extensions": [...]}"""
    return {"read": list(READ_FORMATS) + ["ORA"], "write": list(WRITE_FORMATS) + ["ORA"],
            "extensions": sorted(set(EXTENSIONS) | {PROJECT_EXTENSION})}


__all__ = [
    "atomic_write", "ImageFileError", "UnsupportedFormatError", "CorruptFileError",
    "ImageTooLargeError", "ProjectFileError", "FileSaveError", "open_image", "read_image",
    "read_image_array", "export_image", "save_ora", "load_ora", "open_document", "is_ora",
    "supported_formats", "MAX_PIXELS", "OPEN_FILTER",
]
