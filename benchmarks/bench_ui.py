"""UI benchmarks: brush-stroke repaint latency on a 24 MP document, the longest event-loop stall
while a CPU-heavy job runs, and cold start to window shown (torch must not be imported).

    python benchmarks/bench_ui.py [--quick] [--markdown docs/benchmarks/ui.md]

Runs offscreen (QT_QPA_PLATFORM=offscreen) unless DISPLAY is set and --xcb is given.
Targets: stall <= 50 ms, cold start <= 2 s, torch not imported at start.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def _dispose(app, win) -> None:  # noqa: ANN001
    """Close and delete a window while the QApplication lives."""
    import gc

    import shiboken6

    win.close()
    shiboken6.delete(win)
    app.processEvents()
    gc.collect()


def cold_start(runs: int) -> dict:
    times, torch_loaded = [], []
    for _ in range(runs):
        env = dict(os.environ, GANSTUDIO_QUIT_AFTER_SHOWN="1",
                   GANSTUDIO_DATA=tempfile.mkdtemp(prefix="gs-bench-"))
        env.setdefault("QT_QPA_PLATFORM", "offscreen")
        out = subprocess.run([sys.executable, "-m", "ganstudio", "--sample"], env=env,
                             capture_output=True, text=True, timeout=120, cwd=ROOT)
        line = next((x for x in out.stdout.splitlines() if x.startswith("shown ")), None)
        if line is None:
            raise RuntimeError(f"no 'shown' line: {out.stdout}\n{out.stderr[-2000:]}")
        parts = line.split()
        times.append(float(parts[1]))
        torch_loaded.append(parts[2] == "torch=True")
    return {"median_s": statistics.median(times), "max_s": max(times), "runs": runs,
            "torch_imported": any(torch_loaded)}


def stroke_latency(app, size: tuple[int, int], zoom: str, moves: int) -> dict:
    import numpy as np
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest

    from ganstudio.core.document import Document
    from ganstudio.core.layers import RasterLayer
    from ganstudio.ui.main_window import MainWindow

    w, h = size
    win = MainWindow(load_task_uis=False)
    win.ask_before_close = False
    win.resize(1600, 1000)
    win.show()
    doc = Document(w, h, name="bench")
    yy, xx = np.mgrid[0:h, 0:w]
    px = np.empty((h, w, 4), np.uint8)
    px[..., 0] = (xx * 255 // w).astype(np.uint8)
    px[..., 1] = (yy * 255 // h).astype(np.uint8)
    px[..., 2] = 128
    px[..., 3] = 255
    del yy, xx
    doc.add_layer(RasterLayer("photo", px))
    doc.history.clear()
    canvas = win.add_document(doc)
    app.processEvents()
    if zoom == "fit":
        canvas.fit()
    else:
        canvas.set_zoom(1.0)
        canvas.horizontalScrollBar().setValue(w // 2 - 400)
        canvas.verticalScrollBar().setValue(h // 2 - 300)
    canvas.render_all_now()
    win.tools.select("brush")
    win.tools.settings.size = 30
    view = canvas.viewport()
    vw, vh = view.width(), view.height()
    pts = [QPoint(int(vw * 0.2 + i * (vw * 0.6) / moves), int(vh * 0.5 + 80 * np.sin(i / 7)))
           for i in range(moves + 1)]
    lat = []
    QTest.mousePress(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pts[0])
    view.repaint()
    for p in pts[1:]:
        t0 = time.perf_counter()
        QTest.mouseMove(view, p)          # core.brush.stroke + dirty-region invalidation
        view.repaint()                    # the paint that shows it (dirty tiles re-rendered)
        lat.append((time.perf_counter() - t0) * 1000)
    QTest.mouseRelease(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pts[-1])
    zoom_value = canvas.zoom
    _dispose(app, win)
    return {"median_ms": statistics.median(lat), "p95_ms": pct(lat, 95), "max_ms": max(lat),
            "moves": moves, "zoom": zoom_value}


def event_loop_stall(app, size: tuple[int, int]) -> dict:
    """Largest gap between 5 ms QTimer heartbeats while a CPU-heavy job runs (submit -> applied)."""
    import numpy as np
    from PySide6.QtCore import QElapsedTimer, QTimer

    from ganstudio.core.document import Document
    from ganstudio.core.layers import RasterLayer
    from ganstudio.tasks.base import Progress, Request, Result, TaskInputs
    from ganstudio.tasks.opencv_inpaint import OpenCVInpaintRequest
    from ganstudio.ui.main_window import MainWindow
    from ganstudio.ui.tasks import remove_opencv

    w, h = size
    win = MainWindow(load_task_uis=False)
    win.ask_before_close = False
    win.resize(1600, 1000)
    win.show()
    rng = np.random.default_rng(0)
    px = rng.integers(0, 255, (h, w, 4), dtype=np.uint8)
    px[..., 3] = 255
    doc = Document(w, h, name="bench")
    doc.add_layer(RasterLayer("photo", px))
    doc.history.clear()
    canvas = win.add_document(doc)
    canvas.fit()
    canvas.render_all_now()

    def measure(start_job) -> tuple[float, float, float, float]:  # noqa: ANN001
        """(max stall while the job runs, max stall including the submit call, submit ms, s)."""
        beats: list[tuple[float, float]] = []  # (gap start, gap) in ms
        clock = QElapsedTimer()
        clock.start()
        last = [clock.nsecsElapsed() / 1e6]

        def beat() -> None:
            now = clock.nsecsElapsed() / 1e6
            beats.append((last[0], now - last[0]))
            last[0] = now
        timer = QTimer()
        timer.setInterval(5)
        timer.timeout.connect(beat)
        timer.start()
        for _ in range(10):
            app.processEvents()
            time.sleep(0.005)
        t0 = time.perf_counter()
        s0 = clock.nsecsElapsed() / 1e6
        job = start_job()                      # GUI thread: gather inputs, submit
        submitted = clock.nsecsElapsed() / 1e6
        while not (job.done and not win._job_callbacks):
            app.processEvents()
            time.sleep(0.001)
        for _ in range(40):  # the repaints after the result layer was added
            app.processEvents()
            time.sleep(0.005)
        timer.stop()
        running = [g for start, g in beats if start >= submitted]
        overall = [g for start, g in beats if start + g >= s0]
        return (max(running or [0.0]), max(overall or [0.0]), submitted - s0,
                time.perf_counter() - t0)

    # 1) Remove object (OpenCV) on a large masked area of the 24 MP document
    m = np.zeros((h, w), np.uint8)
    for i in range(12):
        x, y = 300 + (i % 4) * 1200, 400 + (i // 4) * 1100
        m[y:y + 220, x:x + 260] = 255
    doc.set_ai_mask(m)
    for _ in range(200):  # let the mask overlay finish rendering first
        app.processEvents()
        time.sleep(0.002)
    stall_inpaint, stall_inpaint_all, submit_ms, dur_inpaint = measure(lambda: remove_opencv.start(
        win, OpenCVInpaintRequest(method="ns", radius=9)))

    # 2) A pure CPU-bound Python/numpy job (holds the GIL in short bursts, like a torch CPU loop)
    def cpu_task(inputs, request, ctx):  # noqa: ANN001, ANN202
        a = np.random.default_rng(1).random((700, 700))
        steps = 40
        for i in range(steps):
            ctx.check_cancelled()
            for _ in range(3):
                a = np.tanh(a @ a.T / 700.0)
            s = 0.0
            for k in range(20000):   # pure-Python work
                s += k * 0.5
            yield Progress(i + 1, steps, "crunching")
        return Result(np.zeros((8, 8, 4), np.uint8))

    stall_cpu, _all, _sub, dur_cpu = measure(lambda: win.run_task("CPU", cpu_task, TaskInputs(), Request(),
                                                     lambda d, r: None))
    _dispose(app, win)
    return {"inpaint_stall_ms": stall_inpaint, "inpaint_s": dur_inpaint,
            "inpaint_submit_ms": submit_ms, "inpaint_stall_with_submit_ms": stall_inpaint_all,
            "cpu_stall_ms": stall_cpu, "cpu_s": dur_cpu}


_APP = None  # the QApplication outlives every window


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--markdown", type=Path)
    ap.add_argument("--xcb", action="store_true", help="use the X display instead of offscreen")
    args = ap.parse_args()
    if not args.xcb:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    os.environ.setdefault("GANSTUDIO_DATA", tempfile.mkdtemp(prefix="gs-bench-"))

    start = cold_start(2 if args.quick else 5)
    print(f"cold start: median {start['median_s']:.2f} s, max {start['max_s']:.2f} s, "
          f"torch imported: {start['torch_imported']}", flush=True)

    from PySide6.QtWidgets import QApplication

    assert "torch" not in sys.modules
    global _APP
    app = _APP = QApplication.instance() or QApplication([])
    size = (6000, 4000)  # 24 MP
    moves = 40 if args.quick else 120
    s100 = stroke_latency(app, size, "100", moves)
    print(f"stroke @100%: median {s100['median_ms']:.1f} ms, p95 {s100['p95_ms']:.1f} ms", flush=True)
    sfit = stroke_latency(app, size, "fit", moves)
    print(f"stroke @fit ({sfit['zoom']:.3f}): median {sfit['median_ms']:.1f} ms, "
          f"p95 {sfit['p95_ms']:.1f} ms", flush=True)
    stall = event_loop_stall(app, size)
    print(f"stall: inpaint job {stall['inpaint_stall_ms']:.1f} ms over {stall['inpaint_s']:.1f} s "
          f"(submit {stall['inpaint_submit_ms']:.1f} ms on the GUI thread); "
          f"CPU job {stall['cpu_stall_ms']:.1f} ms over {stall['cpu_s']:.1f} s", flush=True)
    assert "torch" not in sys.modules, "torch was imported by the UI"

    if args.markdown:
        ok = lambda good: "yes" if good else "**no**"  # noqa: E731
        text = f"""# UI benchmarks (benchmarks/bench_ui.py)

Measured {time.strftime('%Y-%m-%d')} on {platform.machine()} Linux, Python {platform.python_version()},
{os.cpu_count()} CPU cores shared with other jobs, Qt platform `{os.environ.get('QT_QPA_PLATFORM', 'xcb')}`,
window 1600×1000. Command: `python benchmarks/bench_ui.py --markdown docs/benchmarks/ui.md`.

| measure | figure | target | met |
|---|---|---|---|
| cold start to window shown (`ganstudio --sample`, {start['runs']} runs) | median {start['median_s']:.2f} s, max {start['max_s']:.2f} s | ≤ 2 s | {ok(start['max_s'] <= 2)} |
| torch imported at start | {start['torch_imported']} | False | {ok(not start['torch_imported'])} |
| brush stroke repaint latency, 24 MP (6000×4000), 100 % zoom, size 30 px ({s100['moves']} moves) | median {s100['median_ms']:.1f} ms, p95 {s100['p95_ms']:.1f} ms, max {s100['max_ms']:.1f} ms | — | |
| brush stroke repaint latency, 24 MP, fit zoom ({sfit['zoom'] * 100:.1f} %) | median {sfit['median_ms']:.1f} ms, p95 {sfit['p95_ms']:.1f} ms, max {sfit['max_ms']:.1f} ms | — | |
| longest event-loop stall, Remove object (OpenCV, Navier-Stokes) on 12 regions of the 24 MP image, queued → layer added → repainted ({stall['inpaint_s']:.1f} s) | {stall['inpaint_stall_ms']:.1f} ms | ≤ 50 ms | {ok(stall['inpaint_stall_ms'] <= 50)} |
| GUI-thread time of submitting that job (composite the 12 mask boxes, find regions) | {stall['inpaint_submit_ms']:.1f} ms (longest gap including it: {stall['inpaint_stall_with_submit_ms']:.1f} ms) | — | |
| longest event-loop stall, CPU-bound Python + numpy job ({stall['cpu_s']:.1f} s) | {stall['cpu_stall_ms']:.1f} ms | ≤ 50 ms | {ok(stall['cpu_stall_ms'] <= 50)} |

The stall rows measure from the moment the job is queued until its result layer is added and
repainted (the apply on the GUI thread and the repaint are included; the submit call itself is the
separate row). The machine was shared with other builds and tests (load average 3-4 on 2 cores), so
the figures include scheduling noise.

Latency = one mouse-move event (core.brush.stroke on the layer, dirty-rect invalidation of the
cached tiles) + the synchronous repaint of the viewport that shows it. The stall is the largest
gap between the ticks of a 5 ms QTimer heartbeat on the GUI thread.
"""
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(text)
        print(f"wrote {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
