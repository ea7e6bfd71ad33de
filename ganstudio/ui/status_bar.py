"""Status bar: transient messages + zoom, document size, cursor position, AI device.

The device label has one wording whatever it is built from (the preference before any job ran,
``DeviceInfo.name`` of a job's result, a bare torch device string): "CPU · 2 threads · bf16",
"CUDA · NVIDIA H200 · fp16", "Apple GPU (MPS) · fp32". Never "auto": before torch is loaded the
device is predicted without importing it (the window opens before torch loads).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

SEP = " · "


def _cpu_bf16() -> bool:
    """What ``tasks.device.resolve_precision("auto", "cpu")`` picks, without importing torch."""
    from ganstudio.tasks import device as devmod

    if "torch" in sys.modules:
        return devmod.cpu_has_native_bf16()
    env = os.environ.get("GANSTUDIO_CPU_BF16", "").strip()
    if env in ("0", "1"):
        return env == "1"
    if not devmod.onednn_isa_allows_bf16():
        return False
    return bool(devmod._cpu_flags() & {"avx512_bf16", "amx_bf16"})


def _cpu_label(threads: int | None = None) -> str:
    from ganstudio.tasks.device import default_threads

    n = threads or default_threads()
    return SEP.join(["CPU", f"{n} thread{'s' if n != 1 else ''}", "bf16" if _cpu_bf16() else "fp32"])


def _gpu_present() -> str:
    """"cuda" / "mps" / "" for the device "auto" picks, without importing torch when possible."""
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        try:
            if torch.cuda.is_available():
                return "cuda"
            mps = getattr(torch.backends, "mps", None)
            if mps is not None and mps.is_available():
                return "mps"
        except Exception:  # noqa: BLE001
            return ""
        return ""
    if sys.platform == "darwin" and os.uname().machine == "arm64":
        return "mps"
    gpus = Path("/proc/driver/nvidia/gpus")
    try:
        if gpus.is_dir() and any(gpus.iterdir()):
            return "cuda"
    except OSError:
        pass
    return ""


def _cuda_name() -> str:
    torch = sys.modules.get("torch")
    if torch is not None:
        try:
            return str(torch.cuda.get_device_name(0))
        except Exception:  # noqa: BLE001
            pass
    return "GPU"


def device_label(device: str) -> str:
    """One wording for every way a device is named (see the module docstring)."""
    d = (device or "auto").strip()
    low = d.lower()
    m = re.match(r"cpu \((\d+) threads?\)\s*(\w+)?$", low)
    if m:                                            # DeviceInfo.name of the CPU
        return SEP.join(["CPU", f"{m.group(1)} thread{'s' if m.group(1) != '1' else ''}",
                         m.group(2) or ("bf16" if _cpu_bf16() else "fp32")])
    m = re.match(r"cuda: (.+?)(?: (fp16|bf16|fp32))?$", d, re.IGNORECASE)
    if m:                                            # DeviceInfo.name on CUDA
        return SEP.join(["CUDA", m.group(1), (m.group(2) or "fp16").lower()])
    m = re.match(r"apple mps(?: (\w+))?$", low)
    if m:
        return SEP.join(["Apple GPU (MPS)", m.group(1) or "fp32"])
    if low == "auto":
        low = _gpu_present() or "cpu"
    if low == "cpu":
        return _cpu_label()
    if low.startswith("cuda"):
        return SEP.join(["CUDA", _cuda_name(), "fp16"])
    if low == "mps":
        return SEP.join(["Apple GPU (MPS)", "fp32"])
    return d


class StatusBar(QStatusBar):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cursor = QLabel("")
        self.size_label = QLabel("")
        self.zoom = QLabel("")
        self.device = QLabel("")
        self.device.setObjectName("status_device")
        self.cursor.setMinimumWidth(90)
        self.zoom.setMinimumWidth(60)
        self.cursor.setToolTip("Cursor position (document pixels)")
        self.size_label.setToolTip("Document size")
        self.zoom.setToolTip("Zoom")
        for w in (self.cursor, self.size_label, self.zoom, self.device):
            self.addPermanentWidget(w)
        self.set_device("auto")

    def set_cursor(self, x: int, y: int) -> None:
        self.cursor.setText("" if x < 0 else f"{x}, {y}")

    def set_zoom(self, zoom: float) -> None:
        self.zoom.setText(f"{zoom * 100:.0f}%" if zoom >= 0.1 else f"{zoom * 100:.1f}%")

    def set_size(self, width: int, height: int, layers: int) -> None:
        self.size_label.setText(f"{width} × {height} px · {layers} layer{'s' if layers != 1 else ''}"
                                if width else "")

    def set_device(self, device: str) -> None:
        """``device``: a preference ("auto", "cpu", "cuda", "mps"), a ``DeviceInfo.name`` or a
        torch device string; shown in one wording."""
        label = device_label(str(device))
        self.device.setText(label)
        pref = str(device).lower()
        how = ("chosen automatically (Edit > Preferences)" if pref == "auto" else
               "set in Edit > Preferences" if pref in ("cpu", "cuda", "mps") else
               "used by the last AI job")
        self.device.setToolTip(f"Device of the AI tools: {label}, {how}")
