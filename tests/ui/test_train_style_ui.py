"""Filters/AI > Train your own style…: the dialog runs the trainer as a background process,
Stop keeps a checkpoint, Resume finishes and registers the style as a user model."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from ganstudio.ui.tasks import train_style


def _folder(path, n, seed):  # noqa: ANN001
    path.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (72, 80, 3), dtype=np.uint8)).save(path / f"i{i}.png")
    return path


@pytest.mark.slow
def test_train_style_dialog_stop_resume_register(window, qtbot, tmp_path) -> None:  # noqa: ANN001
    texts = [a.text().replace("&", "") for a in window.menu("Filters/AI").actions()]
    assert any(t.startswith("Train your own style") for t in texts)
    dlg = train_style.open_dialog(window)
    dlg.photos.setText(str(_folder(tmp_path / "photos", 3, 0)))
    dlg.style.setText(str(_folder(tmp_path / "style", 3, 1)))
    dlg.name.setText("Dialog Test")
    dlg.steps.setValue(400)
    dlg.size.setValue(64)
    dlg.device.setCurrentIndex(dlg.device.findData("cpu"))
    dlg.extra_args = ["--ngf", "4", "--blocks", "5", "--threads", "1", "--preview-every", "2",
                      "--ckpt-minutes", "0", "--precision", "fp32"]
    steps: list[int] = []
    dlg.training.progress.connect(lambda s, t, r, e: steps.append(s))
    done: list = []
    dlg.training.finished.connect(lambda res, err: done.append((res, err)))
    assert dlg.start(resume=False)
    qtbot.waitUntil(lambda: len(steps) >= 3, timeout=90000)
    dlg.training.stop()                                        # Stop: checkpoint, clean exit
    qtbot.waitUntil(lambda: bool(done), timeout=60000)
    res, err = done.pop()
    assert err == "" and res is not None and not res["finished"] and "model_id" not in res
    run_dir = dlg.run_dir()
    assert (run_dir / "ckpt.pt").is_file()
    stopped_at = res["step"]
    assert 3 <= stopped_at < 400
    assert "it/s" in dlg.eta.text() or "Stopped" in dlg.eta.text()
    # Resume: continues from the checkpoint to the end and registers the style
    dlg.steps.setValue(stopped_at + 3)
    assert dlg.start(resume=True)
    qtbot.waitUntil(lambda: bool(done), timeout=90000)
    res, err = done.pop()
    assert err == "" and res["finished"] and res["step"] == stopped_at + 3
    assert res["model_id"] == "user.style-dialog-test"
    assert not dlg.preview.pixmap().isNull()
    from ganstudio.models.store import default_store

    entry = default_store().entry("user.style-dialog-test")
    assert entry.task == "style_transfer" and entry.arch == "cyclegan_resnet"
    assert json.loads((run_dir / "run.json").read_text())["model_id"] == "user.style-dialog-test"
