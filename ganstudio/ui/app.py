"""``run_app(files)``: the QApplication, the dark theme and the main window.

``ganstudio`` opens the window, ``ganstudio FILE...`` opens files, ``ganstudio --sample`` opens the
bundled sample photo. Environment hooks for tests and benchmarks:

- ``GANSTUDIO_SCREENSHOT=path.png``: once the window is shown and the canvas drawn, save a
  screenshot of the window (QScreen.grabWindow) and quit.
- ``GANSTUDIO_QUIT_AFTER_SHOWN=1``: print ``shown <seconds since process start>`` and quit
  (cold-start benchmark; also reports whether torch was imported).
- ``GANSTUDIO_AUTOSAVE_S=seconds``: the autosave interval (instead of Preferences), the autosave
  timer ticking at least twice per interval (fault-injection tests: autosave every 0.2 s).
- ``GANSTUDIO_RECOVERY=recover|discard|later``: answer the start-up recovery question without
  the dialog (scripted starts, tests).
- ``GANSTUDIO_TEST_EDITS=ms`` (tests only, tests/io/test_kill_app.py): every ``ms`` one real,
  undoable edit of the active document: edit ``n`` (the document's ``metadata["test_edit"]``
  + 1) fills the active layer with
  :func:`test_edit_colour` (n) and sets ``doc.metadata["test_edit"] = n``, so any saved state
  can be checked for consistency; prints ``edit n``. With ``GANSTUDIO_TEST_SAVE_EVERY=k`` every
  k-th edit is saved with the window's own save path (Ctrl+S: snapshot + writer thread), printing
  ``saved n``; each autosave the window writes prints ``autosaved n``.
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


SWITCH_INTERVAL_S = 0.001


def tune_threads() -> None:
    """Hand the GIL to the GUI thread sooner: background writers (save, autosave, job inputs)
    hold it in short Python stretches between their numpy / zlib / OpenCV calls; with the
    default 5 ms switch interval each event-loop step of the GUI thread could wait 5 ms for it,
    several times per frame. ``GANSTUDIO_SWITCH_INTERVAL_MS`` overrides (benchmarks)."""
    try:
        ms = float(os.environ.get("GANSTUDIO_SWITCH_INTERVAL_MS", SWITCH_INTERVAL_S * 1000))
        sys.setswitchinterval(max(0.0001, ms / 1000.0))
    except ValueError:
        sys.setswitchinterval(SWITCH_INTERVAL_S)


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


def install_terminate_autosave(app) -> None:  # noqa: ANN001
    """SIGTERM / SIGHUP (logout, shutdown, ``kill``): write every pending autosave, then leave at
    once without touching the documents, so the next start offers them back (recovery files are
    kept, exactly as after a crash, but with the newest changes). Python runs signal handlers
    between bytecodes of the main thread: a 200 ms timer lets it run while Qt waits for events."""
    import signal

    from PySide6.QtCore import QTimer

    from ganstudio.core.autosave import emergency_save_all

    def on_signal(signum, _frame) -> None:  # noqa: ANN001
        n = emergency_save_all()
        print(f"signal {signum}: {n} autosave(s) written, recovery kept", file=sys.stderr, flush=True)
        os._exit(128 + signum)

    for name in ("SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)
        if sig is not None:
            try:
                signal.signal(sig, on_signal)
            except (ValueError, OSError):  # not the main thread / not allowed here
                return
    timer = QTimer(app)
    timer.setInterval(200)
    timer.timeout.connect(lambda: None)
    timer.start()
    app._signal_timer = timer  # noqa: SLF001 - kept alive with the app


def test_edit_colour(n: int) -> tuple[int, int, int, int]:
    """The colour of test edit ``n`` (GANSTUDIO_TEST_EDITS)."""
    return ((n * 37 + 11) % 256, (n * 91 + 23) % 256, (n * 53 + 71) % 256, 255)


def _apply_env_settings(window) -> None:  # noqa: ANN001
    """GANSTUDIO_AUTOSAVE_S (see the module docstring); before any document is opened."""
    raw = os.environ.get("GANSTUDIO_AUTOSAVE_S")
    if not raw:
        return
    try:
        interval = float(raw)
    except ValueError:
        log.warning("GANSTUDIO_AUTOSAVE_S=%r is not a number of seconds", raw)
        return
    window.preferences.autosave_interval_s = interval
    timer = getattr(window, "_autosave_timer", None)
    if timer is not None and interval > 0:
        timer.setInterval(int(max(20, min(10_000, interval * 500))))


def _start_test_edits(window, ms: int) -> None:  # noqa: ANN001
    """GANSTUDIO_TEST_EDITS: real edits through the core, saved / autosaved by the window."""
    from PySide6.QtCore import QTimer

    save_every = int(os.environ.get("GANSTUDIO_TEST_SAVE_EVERY", "0") or 0)
    state = {"autosaves": 0}

    def tick() -> None:
        doc = window.document
        if doc is None or doc.active_layer is None:
            return
        st = window._state_of(doc)  # noqa: SLF001
        saver = getattr(st, "autosaver", None)
        if saver is not None and saver.saves != state["autosaves"]:
            state["autosaves"] = saver.saves
            print(f"autosaved {saver.saves}", flush=True)
        if getattr(window, "_saving", False):
            return
        try:  # numbering continues the document's own (a reopened project goes on from there)
            n = int(doc.metadata.get("test_edit", 0)) + 1
        except (TypeError, ValueError):
            n = 1
        layer = doc.active_layer
        with doc.edit_pixels(layer, None, f"Test edit {n}") as px:
            px[...] = test_edit_colour(n)
        doc.metadata["test_edit"] = n
        print(f"edit {n}", flush=True)
        if save_every > 0 and n % save_every == 0 and doc.path is not None:
            from pathlib import Path

            if window._save_to(doc, Path(doc.path)):  # noqa: SLF001 - the Ctrl+S path
                print(f"saved {n}", flush=True)

    timer = QTimer(window)
    timer.setInterval(max(1, ms))
    timer.timeout.connect(tick)
    timer.start()
    window._test_edit_timer = timer  # noqa: SLF001 - kept alive with the window


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
    install_terminate_autosave(app)
    tune_threads()
    screenshot = os.environ.get("GANSTUDIO_SCREENSHOT")
    quit_after = os.environ.get("GANSTUDIO_QUIT_AFTER_SHOWN")
    window = MainWindow(check_recovery=not (screenshot or quit_after))
    _apply_env_settings(window)
    if sample:
        files = [str(paths.SAMPLE_PHOTO)] + files
    for f in files:
        window.open_path(f)
    window.show()
    test_edits = os.environ.get("GANSTUDIO_TEST_EDITS")
    if test_edits:
        _start_test_edits(window, int(float(test_edits)))
    if test_edits or os.environ.get("GANSTUDIO_PRINT_READY"):
        print("ready", flush=True)

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
