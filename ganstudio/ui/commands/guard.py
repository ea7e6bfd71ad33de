"""``@guarded(title)``: menu commands report user errors in a dialog instead of a traceback."""

from __future__ import annotations

import functools
import logging
import traceback
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


def guarded(title: str) -> Callable:
    """Report PermissionError (locked layer), file and value errors in a dialog, not a traceback."""

    def deco(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return fn(self, *args, **kwargs)
            except PermissionError as exc:
                self.show_error(title, str(exc))
            except (ValueError, OSError) as exc:
                log.debug(traceback.format_exc())
                self.show_error(title, str(exc))
            except Exception as exc:  # noqa: BLE001 - file layer errors etc.
                log.error("%s failed:\n%s", title, traceback.format_exc())
                self.show_error(title, str(exc))
            return None
        return wrapper
    return deco

