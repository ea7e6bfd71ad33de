"""PySide6 user interface (the only package that imports Qt)."""

from .qt_compat import make_singletons_immortal

make_singletons_immortal()  # PySide6 6.12 / Python < 3.12 reference-count bug: see qt_compat.py
