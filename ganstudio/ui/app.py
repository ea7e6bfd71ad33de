"""``run_app(files)``: the QApplication, the dark theme and the main window.

``ganstudio`` opens the window, ``ganstudio FILE...`` opens files, ``ganstudio --sample`` opens the
bundled sample photo. Environment hooks for tests and benchmarks:

- ``GANSTUDIO_SCREENSHOT=path.png``: once the window is shown and the canvas drawn, save a
  screenshot of the window (QScreen.grabWindow) and quit.
- ``GANSTUDIO_QUIT_AFTER_SHOWN=1``: print ``shown <seconds since process start>`` and quit
  (cold-start benchmark; also reports whether torch was imported).
"""

from __future__ import annotations

import logging
import os
import sys
import time

from ganstudio import __version__, paths

log = logging.getLogger(__name__)


def _process_start() -> float:
    """Seconds since the epoch when this process started (Linux: /proc; elsewhere: now)."""
    try:
        with open(f"/proc/{os.getpid()}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        ticks = int(fields[19])
        with open("/proc/uptime") as fh:
            uptime = float(fh.read().split()[0])
        return time.time() - uptime + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return time.time()


def install_crash_autosave() -> None:
    """An exception nobody caught (in a slot, a thread) first writes every pending autosave, so
    whatever happens next the work is in the recovery folder."""
    import threading

    from ganstudio.core.autosave import emergency_save_all

    previous = sys.excepthook

    def hook(exc_type, exc, tb):  # noqa: ANN001
        try:
            n = emergency_save_all()
            logging.getLogger(__name__).error("unhandled %s: %d autosave(s) written", exc_type.__name__, n)
        finally:
            previous(exc_type, exc, tb)

    def thread_hook(args):  # noqa: ANN001
        hook(args.exc_type, args.exc_value, args.exc_traceback)

    sys.excepthook = hook
    threading.excepthook = thread_hook


def run_app(files: list[str]) -> int:
    t_start = _process_start()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from .theme import app_icon, apply_dark_theme

    sample = "--sample" in files
    files = [f for f in files if f != "--sample"]
    unknown = [f for f in files if f.startswith("-")]
    if unknown:
        print(f"ganstudio: unknown option(s) {' '.join(unknown)}; "
              "usage: ganstudio [--sample] [FILE...] | ganstudio COMMAND ...", file=sys.stderr)
        return 2

    QApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("GAN Studio")
    app.setOrganizationName("GANStudio")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("io.github.ganstudio.GANStudio")
    app.setWindowIcon(app_icon())
    apply_dark_theme(app)

    from .main_window import MainWindow

    install_crash_autosave()
    screenshot = os.environ.get("GANSTUDIO_SCREENSHOT")
    quit_after = os.environ.get("GANSTUDIO_QUIT_AFTER_SHOWN")
    window = MainWindow(check_recovery=not (screenshot or quit_after))
    if sample:
        files = [str(paths.SAMPLE_PHOTO)] + files
    for f in files:
        window.open_path(f)
    window.show()

    if quit_after:
        def report() -> None:
            shown = time.time() - t_start
            print(f"shown {shown:.3f} torch={'torch' in sys.modules}", flush=True)
            window.ask_before_close = False
            window.close()
            app.quit()
        QTimer.singleShot(0, report)
    if screenshot:
        def shoot() -> None:
            canvas = window.canvas
            if canvas is not None:
                canvas.render_all_now()
            app.processEvents()
            screen = window.screen() or app.primaryScreen()
            pm = screen.grabWindow(0)  # the whole screen: what a user sees
            pm.save(screenshot)
            print(f"screenshot {screenshot} {pm.width()}x{pm.height()}", flush=True)
            window.ask_before_close = False
            window.close()
            app.quit()
        QTimer.singleShot(int(os.environ.get("GANSTUDIO_SCREENSHOT_DELAY_MS", "1500")), shoot)
    rc = int(app.exec())
    # Destroy the window while the QApplication still exists (never leave Qt objects to the
    # interpreter's final garbage collection).
    import gc

    import shiboken6

    if shiboken6.isValid(window):
        window.ask_before_close = False
        window.close()
        shiboken6.delete(window)
    del window
    gc.collect()
    return rc
