"""Entry script of the PyInstaller bundle (packaging/ganstudio.spec): the installed `ganstudio` CLI."""

import multiprocessing
import sys

from ganstudio.cli import entry

if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(entry())
