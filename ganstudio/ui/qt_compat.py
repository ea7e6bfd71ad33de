"""Work-arounds for bugs of the Qt binding, applied when ganstudio.ui is imported.

PySide6 6.12.0 on Python < 3.12: every call of a Qt method that returns void (``w.update()``,
``setEnabled()``, ``processEvents()``, ``QTimer.singleShot(ms, ctx, fn)``, ...) returns ``None``
without taking a reference (correct only since Python 3.12, where None is immortal, PEP 683).
Each call drops one reference of None; after some tens of thousands of calls the interpreter
aborts with "Fatal Python error: none_dealloc". We give None (and True / False, for safety) the
same "practically immortal" reference count that Python 3.12 gives them. Harmless elsewhere.
"""

from __future__ import annotations

import ctypes
import sys

_IMMORTAL_BOOST = 1 << 40  # ~10^12 dropped references before anything could go wrong


def make_singletons_immortal() -> bool:
    """Raise the reference counts of None / True / False on Python < 3.12. True if applied."""
    if sys.version_info >= (3, 12) or getattr(sys, "_ganstudio_immortal", False):
        return False
    if sys.implementation.name != "cpython":
        return False
    for obj in (None, True, False):
        # ob_refcnt is the first field of every PyObject (Py_ssize_t) in release builds.
        ctypes.c_ssize_t.from_address(id(obj)).value += _IMMORTAL_BOOST
    sys._ganstudio_immortal = True  # type: ignore[attr-defined]
    return True
