"""Fill bucket / gradient / magic wand / select by colour on a 24 MP layer, driven through the real
canvas (mouse events): the longest event-loop stall (gap of a 5 ms QTimer heartbeat on the GUI
thread, as benchmarks/bench_ui.py measures it), the GUI thread's CPU time in that gap, and the
total time from the click to the result applied (one undo step recorded) and repainted.

    OMP_NUM_THREADS=1 nice -n 19 python benchmarks/bench_tools.py [--size 6000x4000] [--tools fill,gradient]

Offscreen (QT_QPA_PLATFORM=offscreen). Works on the synchronous tools (the stall is then the
whole operation) and on the worker-thread ones (ganstudio/ui/tools/fill.py ToolJob).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ganstudio.tasks.device import cpu_model_name  # noqa: E402
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def now_ms() -> float:
    return time.perf_counter() * 1000.0


class Heartbeat:
    """5 ms QTimer on the GUI thread; keeps every gap (start, length, GUI-thread CPU ms)."""

    def __init__(self, diagnose: bool = False) -> None:
        from PySide6.QtCore import QTimer

        self.diagnose = diagnose
        self.samples: list[tuple[float, str]] = []
        self._stop = False
        self._main = threading.get_ident()
        self.gaps: list[tuple[float, float, float]] = []
        self.timer = QTimer()
        self.timer.setInterval(5)
        self.timer.timeout.connect(self._beat)
        self._last = now_ms()
        self._cpu = time.thread_time() * 1000.0

    def _beat(self) -> None:
        t, c = now_ms(), time.thread_time() * 1000.0
        self.gaps.append((self._last, t - self._last, c - self._cpu))
        self._last, self._cpu = t, c

    def start(self) -> None:
        self._last, self._cpu = now_ms(), time.thread_time() * 1000.0
        self.timer.start()
        if self.diagnose:
            threading.Thread(target=self._watch, daemon=True).start()

    def stop(self) -> None:
        self.timer.stop()
        self._stop = True

    def _watch(self) -> None:
        """Sample the GUI thread's stack whenever a tick is over 12 ms late (--diagnose)."""
        import traceback

        while not self._stop:
            time.sleep(0.004)
            if now_ms() - self._last > 12.0:
                frame = sys._current_frames().get(self._main)  # noqa: SLF001
                if frame is None:
                    continue
                stack = [f for f in traceback.extract_stack(frame) if "ganstudio" in f.filename]
                key = " < ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}"
                                 for f in reversed(stack[-3:])) or "(Qt / event loop)"
                self.samples.append((now_ms(), key))

    def explain(self, name: str, t0: float, t1: float) -> None:
        big = sorted(self.window(t0, t1), key=lambda g: -g[1])[:5]
        print(f"  [{name}] longest gaps (ms / GUI-thread CPU ms / at ms after the click): "
              + ", ".join(f"{g:.0f}/{c:.0f}/{s_ - t0:.0f}" for s_, g, c in big))
        counts: dict[str, int] = {}
        for t, k in self.samples:
            if t0 <= t <= t1:
                counts[k] = counts.get(k, 0) + 1
        for k, n in sorted(counts.items(), key=lambda kv: -kv[1])[:6]:
            print(f"     {n:4d} x 4 ms  {k}")

    def window(self, t0: float, t1: float) -> list[tuple[float, float, float]]:
        return [g for g in self.gaps if g[0] < t1 and g[0] + g[1] > t0]

    def longest(self, t0: float, t1: float) -> tuple[float, float]:
        gaps = self.window(t0, t1)
        if not gaps:
            return 0.0, 0.0
        g = max(gaps, key=lambda x: x[1])
        return g[1], g[2]


def pump(app, ms: float) -> None:  # noqa: ANN001
    end = now_ms() + ms
    while now_ms() < end:
        app.processEvents()
        time.sleep(0.001)


def pump_until(app, cond, timeout_s: float = 300.0) -> None:  # noqa: ANN001
    end = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > end:
            raise TimeoutError("the tool did not finish")
        app.processEvents()
        time.sleep(0.001)


def make_doc(w: int, h: int):  # noqa: ANN201
    """One opaque photo-like layer: a noisy horizontal ramp with a dark block in the middle (the
    fill's region is the light part around it: most of the layer, with a soft edge)."""
    import numpy as np

    from ganstudio.core.document import Document
    from ganstudio.core.layers import RasterLayer

    rng = np.random.default_rng(0)
    px = np.empty((h, w, 4), np.uint8)
    px[..., 0] = 200
    px[..., 1] = np.linspace(190, 210, w, dtype=np.float32)[None, :]
    px[..., 2] = rng.integers(180, 200, (h, w), dtype=np.uint8)
    px[..., 3] = 255
    px[h // 3: 2 * h // 3, w // 3: 2 * w // 3, :3] = 30
    doc = Document(w, h, name="bench-tools")
    doc.add_layer(RasterLayer("photo", px))
    doc.history.clear()
    doc.mark_modified(False)
    return doc


def run(size: tuple[int, int], tools: list[str], diagnose: bool = False) -> dict:
    from PySide6.QtCore import QPoint, QPointF, Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from ganstudio.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    win = MainWindow(load_task_uis=False)
    win.ask_before_close = False
    win.resize(1600, 1000)
    win.show()
    w, h = size
    doc = make_doc(w, h)
    canvas = win.add_document(doc)
    canvas.fit()
    pump(app, 300)

    def settle() -> None:
        pump(app, 100)
        while canvas.pending:
            canvas.render_all_now()
            pump(app, 50)
        pump(app, 200)

    def vp(x: float, y: float) -> QPoint:
        p = canvas.doc_to_view(QPointF(x, y))
        return QPoint(int(round(p.x())), int(round(p.y())))

    view = canvas.viewport()
    left = Qt.MouseButton.LeftButton
    none = Qt.KeyboardModifier.NoModifier
    settle()
    beat = Heartbeat(diagnose)
    beat.start()
    out: dict = {}
    for name in tools:
        win.tools.select(name)
        win.tools.settings.color = (200, 30, 30, 255)
        n = len(doc.history)
        settle()
        t0 = now_ms()
        if name == "gradient":
            QTest.mousePress(view, left, none, vp(w * 0.05, h * 0.5))
            QTest.mouseMove(view, vp(w * 0.5, h * 0.5))
            QTest.mouseRelease(view, left, none, vp(w * 0.95, h * 0.5))
        else:
            QTest.mouseClick(view, left, none, vp(w * 0.1, h * 0.1))
        t_input = now_ms()
        pump_until(app, lambda: len(doc.history) > n)
        t_applied = now_ms()
        # the canvas's own progressive repaint of the changed tiles (budgeted paints)
        pump(app, 50)
        pump_until(app, lambda: not canvas.pending)
        t_drawn = now_ms()
        pump(app, 100)
        stall, cpu = beat.longest(t0, t_applied)
        stall_all, cpu_all = beat.longest(t0, t_drawn)
        out[name] = {"stall_ms": round(stall, 1), "stall_gui_cpu_ms": round(cpu, 1),
                     "stall_incl_repaint_ms": round(stall_all, 1),
                     "input_handler_ms": round(t_input - t0, 1),
                     "total_s": round((t_applied - t0) / 1000, 2),
                     "total_incl_repaint_s": round((t_drawn - t0) / 1000, 2),
                     "undo_label": doc.history.undo_label}
        print(name, json.dumps(out[name]), flush=True)
        if diagnose:
            print(f"  applied at {t_applied - t0:.0f} ms, drawn at {t_drawn - t0:.0f} ms")
            beat.explain(name, t0, t_drawn)
        if name in ("wand", "color_select"):
            doc.set_selection(None)
    beat.stop()
    win.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="6000x4000", help="layer size WxH (default 6000x4000, 24 MP)")
    ap.add_argument("--tools", default="fill,gradient,wand,color_select",
                    help="comma-separated tool names to measure")
    ap.add_argument("--json", help="also write the figures to this JSON file")
    ap.add_argument("--diagnose", action="store_true",
                    help="print the longest gaps and where the GUI thread was during them")
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.lower().split("x"))
    load = os.getloadavg()
    print(f"CPU: {cpu_model_name()}, {os.cpu_count()} cores; load average {load[0]:.1f} {load[1]:.1f} "
          f"{load[2]:.1f}", flush=True)
    res = run((w, h), [t.strip() for t in args.tools.split(",") if t.strip()], args.diagnose)
    res["_machine"] = {"cpu": cpu_model_name(), "cores": os.cpu_count(), "load_before": load,
                       "load_after": os.getloadavg(), "size": [w, h]}
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
