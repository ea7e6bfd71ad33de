"""Precision policy (tasks/device.py) and automatic tile sizing (tasks/tiling.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganstudio.tasks import device as devmod
from ganstudio.tasks.base import TaskError
from ganstudio.tasks.device import resolve_precision, select_device
from ganstudio.tasks.tiling import activation_bytes_per_pixel, auto_tile, job_budget, tiled_apply


@pytest.fixture
def no_override(monkeypatch):
    monkeypatch.delenv("GANSTUDIO_CPU_BF16", raising=False)
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)


def test_auto_is_bf16_only_where_the_cpu_has_native_bf16(monkeypatch, no_override):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False, raising=False)
    assert resolve_precision("auto", "cpu") == "bf16"
    assert select_device("cpu").precision == "bf16"
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False, raising=False)
    assert resolve_precision("auto", "cpu") == "fp32"          # AVX2-only AMD EPYC: fp32
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True, raising=False)
    assert resolve_precision("auto", "cpu") == "bf16"          # AMX Xeon


def test_onednn_isa_cap_and_env_override(monkeypatch, no_override):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True, raising=False)
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    assert resolve_precision("auto", "cpu") == "fp32"
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_AMX")
    assert resolve_precision("auto", "cpu") == "bf16"
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA")
    monkeypatch.setenv("GANSTUDIO_CPU_BF16", "0")
    assert resolve_precision("auto", "cpu") == "fp32"


def test_explicit_precisions(no_override):
    assert resolve_precision("fp32", "cpu") == "fp32"
    assert resolve_precision("bf16", "cpu") == "bf16"
    assert resolve_precision("auto", "cuda") == "fp16"
    assert resolve_precision("auto", "mps") == "fp32"
    with pytest.raises(TaskError, match="fp16 runs on CUDA"):
        resolve_precision("fp16", "cpu")
    with pytest.raises(TaskError, match="unknown precision"):
        resolve_precision("fp8", "cpu")
    # the legacy half flag: False = exact
    assert resolve_precision("auto", "cpu", half=False) == "fp32"
    d = select_device("cpu", precision="fp32")
    assert d.precision == "fp32" and d.name.endswith("fp32")


def test_per_model_opt_out():
    import dataclasses

    explicit = select_device("cpu", precision="bf16")
    d = dataclasses.replace(explicit, requested="auto")     # what "auto" gives on a bf16 CPU
    assert d.for_model(("bf16", "fp16")).precision == "bf16"
    assert d.for_model(()).precision == "fp32"
    assert d.for_model(None).precision == "bf16"
    # an explicit --precision bf16 is the user's choice: it stands for every model
    assert explicit.requested == "bf16" and explicit.for_model(()).precision == "bf16"


def test_bf16_autocast_close_to_fp32_and_fp32_exact():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 16, 3, padding=1), torch.nn.LeakyReLU(0.2),
                              torch.nn.Conv2d(16, 3, 3, padding=1)).eval()
    img = (np.random.default_rng(0).random((40, 48, 3)) * 255).astype(np.uint8)

    def run(prec):
        dev = select_device("cpu", precision=prec)
        gen = tiled_apply(img, lambda t: net(t).add(t), scale=1, tile=0, device=dev)
        try:
            while True:
                next(gen)
        except StopIteration as stop:
            return stop.value

    a, b = run("fp32"), run("fp32")
    np.testing.assert_array_equal(a, b)
    c = run("bf16")
    mse = np.mean((a.astype(float) - c.astype(float)) ** 2)
    assert mse == 0 or 10 * np.log10(255 ** 2 / mse) > 35


def test_auto_tile_whole_image_when_it_fits_and_even_tiles_otherwise():
    kw = dict(scale=4, channels=3, pad=16, overlap=16)
    assert auto_tile(256, 256, bytes_per_pixel=12_000, budget=2 * 2**30, **kw) == 0
    t = auto_tile(1024, 1024, bytes_per_pixel=12_000, budget=2 * 2**30, **kw)
    assert 0 < t < 1024
    # tiles divide the image evenly: n tiles of t cover 1024 with the overlap, no sliver tile
    n = -(-(1024 - 16) // (t - 16))
    assert n * (t - 16) + 16 >= 1024 and (n - 1) * (t - 16) + 16 < 1024
    assert auto_tile(1024, 1024, bytes_per_pixel=12_000, budget=80 * 2**20, **kw) >= 32


def test_activation_probe_measures_what_is_alive_at_once():
    from ganstudio.tasks.activation_memory import MARGIN

    net = torch.nn.Sequential(torch.nn.Conv2d(3, 64, 3, padding=1), torch.nn.Conv2d(64, 3, 3, padding=1))
    # at the second conv's output: the input (3 ch), the first conv's output (64) and its own (3)
    b32 = activation_bytes_per_pixel(net, 3, select_device("cpu", precision="fp32"))
    assert b32 == pytest.approx((3 + 64 + 3) * 4 * MARGIN)
    # bf16: half the bytes, plus the transient bf16 copies of the weights (< 10 B/px at the probe)
    b16 = activation_bytes_per_pixel(net, 3, select_device("cpu", precision="bf16"))
    assert (3 + 64 + 3) * 2 * MARGIN <= b16 <= ((3 + 64 + 3) * 2 + 10) * MARGIN

    class Dense(torch.nn.Module):   # a functional torch.cat, as in RRDBNet's dense blocks
        def __init__(self) -> None:
            super().__init__()
            self.a, self.b = torch.nn.Conv2d(3, 32, 3, padding=1), torch.nn.Conv2d(35, 3, 3, padding=1)

        def forward(self, x):  # noqa: ANN001, ANN202
            return self.b(torch.cat([x, self.a(x)], 1))

    # peak while the concatenation is made: input 3 + a's output 32 + the cat 35 channels
    dense = activation_bytes_per_pixel(Dense(), 3, select_device("cpu", precision="fp32"))
    assert dense == pytest.approx((3 + 32 + 35) * 4 * MARGIN)


def test_auto_tile_counts_context_only_where_a_tile_has_neighbours():
    kw = dict(scale=1, channels=3, pad=16, overlap=16)
    # two tiles of 520 along each axis (1024 = 2 x 520 - 16): each has context on one side only
    bpp = 1000.0
    band = 520 * 1024 * 3 * 4
    fits = bpp * 536 * 536 + band
    assert auto_tile(1024, 1024, bytes_per_pixel=bpp, budget=int(fits) + 1, **kw) == 520
    # with the cost of context on both sides it would have needed three tiles
    assert auto_tile(1024, 1024, bytes_per_pixel=bpp, budget=int(fits) - 1, **kw) < 520


def test_job_budget_respects_limit_and_free_ram(monkeypatch):
    monkeypatch.setattr("ganstudio.tasks.tiling.available_memory", lambda d: 8 * 2**30)
    dev = select_device("cpu", precision="fp32")
    assert job_budget(dev, limit=2**30, reserved=0) == 2**30
    assert job_budget(dev, limit=2**30, reserved=2**29) == 2**29
    monkeypatch.setattr("ganstudio.tasks.tiling.available_memory", lambda d: 2**30)
    assert job_budget(dev, limit=4 * 2**30) == 2**29            # never more than half the free RAM


def test_cpu_model_name_is_reported():
    assert isinstance(devmod.cpu_model_name(), str) and devmod.cpu_model_name()


def test_auto_keeps_fp32_for_16_bit_pixels():
    from ganstudio.tasks.device import precision_for_pixels

    assert precision_for_pixels("auto", np.uint16) == "fp32"
    assert precision_for_pixels("auto", np.uint8) == "auto"
    assert precision_for_pixels("bf16", np.uint16) == "bf16"      # an explicit choice stands


def test_catalog_precisions_drive_the_opt_out():
    from ganstudio.models.catalog import CatalogError, parse_entry

    base = dict(id="x.y", task="super_resolution", arch="rrdbnet", name="n", licence="MIT", origin="o",
                builtin="builtin/x.safetensors")
    e = parse_entry(dict(base, precisions=["fp16"]))
    assert e.precisions == ("fp16",)
    assert parse_entry(base).precisions is None
    with pytest.raises(CatalogError, match="precisions"):
        parse_entry(dict(base, precisions=["fp8"]))
    import dataclasses

    dev = dataclasses.replace(select_device("cpu", precision="bf16"), requested="auto")
    assert dev.for_model(e.precisions).precision == "fp32"


def test_inpainting_and_colourising_follow_the_policy(monkeypatch):
    """auto = bf16 on a bf16 CPU for the models the catalog lists as measured, fp32 for 16-bit
    images and on CPUs without native bf16; an explicit choice stands."""
    from ganstudio.tasks.base import TaskContext, TaskInputs, drive
    from ganstudio.tasks.colorize import ColorizeRequest
    from ganstudio.tasks.colorize import run as colorize
    from ganstudio.tasks.inpaint import InpaintRequest
    from ganstudio.tasks.inpaint import run as inpaint

    rng = np.random.default_rng(0)
    img8 = rng.integers(0, 255, (48, 40, 3), dtype=np.uint8)
    mask = np.zeros((48, 40), np.uint8)
    mask[16:32, 12:28] = 255

    def prec(run, req, image, precision="auto", **inputs):
        ctx = TaskContext(device="cpu", precision=precision, threads=1)
        return drive(run(TaskInputs(image, **inputs), req, ctx)).info["precision"]

    monkeypatch.setenv("GANSTUDIO_CPU_BF16", "1")
    assert prec(inpaint, InpaintRequest(texture=0.0), img8, mask=mask) == "bf16"
    assert prec(colorize, ColorizeRequest(work_size=0), img8) == "bf16"
    img16 = img8.astype(np.uint16) * 257
    assert prec(inpaint, InpaintRequest(texture=0.0), img16, mask=mask) == "fp32"
    assert prec(colorize, ColorizeRequest(work_size=0), img16) == "fp32"
    assert prec(inpaint, InpaintRequest(texture=0.0), img8, "fp32", mask=mask) == "fp32"
    monkeypatch.setenv("GANSTUDIO_CPU_BF16", "0")
    assert prec(inpaint, InpaintRequest(texture=0.0), img8, mask=mask) == "fp32"
    assert prec(colorize, ColorizeRequest(work_size=0), img8) == "fp32"
    assert prec(colorize, ColorizeRequest(work_size=0), img8, "bf16") == "bf16"   # explicit stands
