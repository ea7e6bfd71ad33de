"""What the menu items do, one module per menu (file, edit, image, filters, layer, select, view, help) plus
the start-up recovery prompt; each is a mixin and :class:`WindowCommands` combines them for
MainWindow. The pixel work is core's (operations, selection, io); these ask the user and report
errors (``guard.guarded``)."""

from __future__ import annotations

from .edit import EditCommands
from .file import FileCommands
from .filters import FilterCommands
from .guard import guarded
from .help import HelpCommands
from .image import ImageCommands
from .layer import LayerCommands
from .recovery import RecoveryCommands
from .select import SelectCommands
from .view import ViewCommands


class WindowCommands(FileCommands, EditCommands, ImageCommands, FilterCommands, LayerCommands,
                     SelectCommands, ViewCommands, HelpCommands, RecoveryCommands):
    """Every menu command of the window (the handlers named in ui/actions.py ACTIONS)."""


__all__ = ["WindowCommands", "guarded"]
