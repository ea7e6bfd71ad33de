"""The warm worker (ganstudio/worker): commands forked from it behave exactly as in-process runs:
same output, exit status, working directory, environment, Ctrl+C; anything that does not match
falls back to an in-process run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganstudio.worker import client, protocol

pytestmark = pytest.mark.skipif(protocol.supported() is not None, reason="warm worker: Linux only")


def _env(sock: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GANSTUDIO_NO_WORKER",)}
    env.update({"GANSTUDIO_WORKER_SOCKET": str(sock), **extra})
    return env


def _cli(args: list[str], env: dict[str, str], cwd: Path | None = None, **kw) -> subprocess.CompletedProcess:
    # never the checkout's folder: `python -m` would import the checkout, not the snapshot
    cwd = cwd or Path(env["PYTHONPATH"]).parent
    return subprocess.run([sys.executable, "-m", "ganstudio", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=300, **kw)


def _status(env: dict[str, str]) -> dict:
    out = _cli(["worker", "status", "--json"], env)
    return json.loads(out.stdout)


REPO = Path(__file__).resolve().parents[2]


def _snapshot(folder: Path) -> Path:
    """A private copy of the package (data linked), so that edits to the checkout while the tests
    run (the worker rightly goes stale on them) cannot disturb them."""
    import ganstudio

    snap = folder / "snap"
    shutil.copytree(Path(ganstudio.__file__).resolve().parent, snap / "ganstudio",
                    ignore=shutil.ignore_patterns("__pycache__", "_data"))
    for name in ("resources", "models"):
        (snap / name).symlink_to(REPO / name)
    return snap


@pytest.fixture(scope="module")
def worker(tmp_path_factory):
    folder = tmp_path_factory.mktemp("worker")
    sock = folder / "w.sock"
    snap = _snapshot(folder)
    env = _env(sock, GANSTUDIO_CACHE=str(folder / "cache"), PYTHONPATH=str(snap))
    proc = subprocess.Popen([sys.executable, "-m", "ganstudio", "worker", "serve", "--idle-timeout", "10"],
                            env={**env, "GANSTUDIO_NO_WORKER": "1"}, cwd=folder, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 240
    while not sock.exists():
        assert proc.poll() is None, proc.stdout.read()
        assert time.time() < deadline, "worker did not start"
        time.sleep(0.1)
    yield env, proc, folder
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_output_and_exit_status_match_in_process(worker):
    env, _proc, _folder = worker
    before = _status(env)["served"]
    warm = _cli(["tasks", "--json"], env)
    cold = _cli(["tasks", "--json"], {**env, "GANSTUDIO_NO_WORKER": "1"})
    assert warm.returncode == cold.returncode == 0
    assert json.loads(warm.stdout) == json.loads(cold.stdout)
    assert _status(env)["served"] == before + 1      # the warm run went through the worker

    bad_warm = _cli(["upscale", "missing.png", "-o", "x.png"], env)
    bad_cold = _cli(["upscale", "missing.png", "-o", "x.png"], {**env, "GANSTUDIO_NO_WORKER": "1"})
    assert bad_warm.returncode == bad_cold.returncode != 0
    assert "missing.png" in bad_warm.stderr and bad_warm.stderr.strip() == bad_cold.stderr.strip()


def test_relative_paths_use_the_clients_folder_and_torch_runs_in_the_child(worker, tmp_path):
    env, _proc, _folder = worker
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (12, 10, 3), dtype=np.uint8)).save(tmp_path / "in.png")
    before = _status(env)["served"]
    out = _cli(["upscale", "in.png", "-o", "out.png", "--model", "realesrgan.animevideov3-x2",
                "--json"], env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert Image.open(tmp_path / "out.png").size == (20, 24)
    assert json.loads(out.stdout)["ok"] is True
    assert _status(env)["served"] == before + 1, out.stderr
    # same pixels as an in-process run
    cold = _cli(["upscale", "in.png", "-o", "cold.png", "--model", "realesrgan.animevideov3-x2"],
                {**env, "GANSTUDIO_NO_WORKER": "1"}, cwd=tmp_path)
    assert cold.returncode == 0, cold.stderr
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out.png")),
                          np.asarray(Image.open(tmp_path / "cold.png")))


def test_other_import_time_settings_run_in_process(worker):
    env, _proc, _folder = worker
    before = _status(env)["served"]
    out = _cli(["tasks", "--json"], {**env, "OMP_NUM_THREADS": "1"})
    assert out.returncode == 0 and json.loads(out.stdout)
    assert _status(env)["served"] == before            # refused by the worker, run in-process


def test_wrong_installation_key_is_refused(worker):
    env, _proc, _folder = worker
    sock = client._connect(env["GANSTUDIO_WORKER_SOCKET"])
    assert sock is not None
    with sock:
        key = {**protocol.installation_key(), "version": "0.0-other"}
        protocol.send(sock, {"run": ["info"], "cwd": "/", "env": {}, "key": key}, fds=[0, 1, 2])
        reply = protocol.recv(sock)
    assert reply["accepted"] is False and "installation" in reply["reason"]


def test_ctrl_c_reaches_the_command(worker, tmp_path):
    env, _proc, _folder = worker
    Image.fromarray(np.zeros((400, 400, 3), np.uint8)).save(tmp_path / "big.png")
    p = subprocess.Popen([sys.executable, "-m", "ganstudio", "upscale", "big.png", "-o", "o.png",
                          "--model", "realesrgan.x4plus", "--precision", "fp32", "--tile", "64"],
                         env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while _status(env)["running"] == 0:          # wait until the worker runs it
        assert p.poll() is None, p.communicate()
        assert time.time() < deadline
        time.sleep(0.1)
    time.sleep(1.0)
    p.send_signal(signal.SIGINT)
    _out, err = p.communicate(timeout=60)
    assert p.returncode == 130, err
    assert not (tmp_path / "o.png").exists()
    deadline = time.time() + 30
    while _status(env)["running"]:                # the forked command is gone too
        assert time.time() < deadline
        time.sleep(0.1)


def test_a_code_change_makes_the_worker_exit_and_the_command_run_in_process(tmp_path):
    snap = _snapshot(tmp_path)
    env = _env(tmp_path / "stale.sock", PYTHONPATH=str(snap))
    out = _cli(["worker", "start", "--json"], env)
    assert out.returncode == 0, out.stderr
    assert _status(env)["worker"] is True
    target = snap / "ganstudio" / "commands" / "tasks.py"
    target.write_text(target.read_text() + "\n# edited\n")
    future = time.time() + 5
    os.utime(target, (future, future))
    ran = _cli(["tasks", "--json"], env)
    assert ran.returncode == 0 and json.loads(ran.stdout)   # in-process, with the new code
    deadline = time.time() + 30
    while (tmp_path / "stale.sock").exists():
        assert time.time() < deadline, "the stale worker did not exit"
        time.sleep(0.2)


def test_idle_timeout_and_stop(tmp_path):
    sock = tmp_path / "short.sock"
    env = _env(sock, PYTHONPATH=str(_snapshot(tmp_path)))
    out = _cli(["worker", "start", "--idle-timeout", "0.05", "--json"], env)   # 3 s
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert info["ok"] and sock.exists()
    deadline = time.time() + 60
    while sock.exists():
        assert time.time() < deadline, "worker did not exit when idle"
        time.sleep(0.2)

    out = _cli(["worker", "start", "--json"], env)
    assert out.returncode == 0, out.stderr
    pid = json.loads(out.stdout)["pid"]
    stop = _cli(["worker", "stop", "--json"], env)
    assert json.loads(stop.stdout)["stopping"] is True
    deadline = time.time() + 30
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        # a child of the `worker start` process that has exited: reap-less zombie check
        if Path(f"/proc/{pid}/stat").exists() and Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
            break
        assert time.time() < deadline, "worker did not stop"
        time.sleep(0.2)
    assert not sock.exists()
    assert _cli(["worker", "status"], env).returncode == 1
