"""The real app under Xvfb: `ganstudio --sample` shows the window; a screenshot (QScreen.grabWindow)
is not blank and shows the sample photo."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from ganstudio import paths


def _start_xvfb() -> tuple[subprocess.Popen, str]:
    r, w = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(w), "-screen", "0", "1600x1000x24", "-nolisten",
                             "tcp"], pass_fds=(w,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(w)
    with os.fdopen(r) as fh:
        display = fh.readline().strip()
    if not display:
        proc.kill()
        pytest.skip("Xvfb did not start")
    return proc, f":{display}"


@pytest.mark.skipif(shutil.which("Xvfb") is None, reason="Xvfb is not installed")
def test_app_under_xvfb_shows_the_sample_photo(tmp_path: Path) -> None:
    xvfb, display = _start_xvfb()
    shot = tmp_path / "window.png"
    env = dict(os.environ, DISPLAY=display, QT_QPA_PLATFORM="xcb", GANSTUDIO_SCREENSHOT=str(shot),
               GANSTUDIO_DATA=str(tmp_path / "data"))
    try:
        proc = subprocess.run([sys.executable, "-m", "ganstudio", "--sample"], env=env,
                              capture_output=True, text=True, timeout=120)
    finally:
        xvfb.terminate()
        xvfb.wait(10)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert shot.exists(), proc.stdout + proc.stderr[-3000:]
    img = cv2.imread(str(shot), cv2.IMREAD_COLOR)
    assert img is not None and img.shape[0] >= 600 and img.shape[1] >= 800
    assert img.std() > 20                                   # not blank
    assert len(np.unique(img.reshape(-1, 3)[::97], axis=0)) > 500
    # the astronaut photo is on screen (at 100 %: exact size) -> normalised correlation ~ 1
    photo = cv2.imread(str(paths.SAMPLE_PHOTO), cv2.IMREAD_COLOR)
    face = photo[40:300, 120:380]
    res = cv2.matchTemplate(img, face, cv2.TM_CCOEFF_NORMED)
    _, best, _, at = cv2.minMaxLoc(res)
    assert best > 0.95, f"sample photo not found on screen (best correlation {best:.3f})"
    # and the dark theme around it: the canvas background left of the photo
    x, y = at[0] - 120, at[1] - 40
    assert x > 40 and img[y + 200, max(0, x - 20)].mean() < 60
